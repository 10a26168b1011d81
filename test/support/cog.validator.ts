/** Runs GDAL's own COG validator (the Python sample shipped with python3-gdal) on a file. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CogValidation {
  valid: boolean;
  errors: string[];
  warnings: string[];
  output: string;
}

/** `/usr/bin/python3`, not whatever `python3` is first on PATH: Debian's python3-gdal lives there. */
const python = '/usr/bin/python3';

export async function validateCog(path: string): Promise<CogValidation> {
  let output: string;
  let valid: boolean;
  try {
    const { stdout, stderr } = await run(python, ['-m', 'osgeo_utils.samples.validate_cloud_optimized_geotiff', path]);
    output = stdout + stderr;
    valid = true;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number | string };
    if (typeof failed.code !== 'number') throw error; // could not start the validator at all
    output = (failed.stdout ?? '') + (failed.stderr ?? '');
    valid = false;
  }
  return { valid, output, errors: section(output, 'errors'), warnings: section(output, 'warnings') };
}

/** The " - ..." lines under "The following errors/warnings were found:". */
function section(output: string, kind: 'errors' | 'warnings'): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.includes(`following ${kind} were found`));
  if (start < 0) return [];
  const found: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(' - ')) break;
    found.push(line.slice(3));
  }
  return found;
}
