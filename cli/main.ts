#!/usr/bin/env node
/** Entry point of the `raster-ingest` command (package `bin`); everything else is in cli.program.ts. */
import { statSync } from 'node:fs';
import { uploadLocalFile } from './blob.upload.js';
import { terminalSafe } from './cli.format.js';
import { runCli } from './cli.program.js';
import { readPackageVersion } from './cli.version.js';

function isLocalFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(`${terminalSafe(text)}\n`),
  err: (text) => process.stderr.write(`${terminalSafe(text)}\n`),
  progressStream: process.stderr,
  isLocalFile,
  upload: uploadLocalFile,
  version: readPackageVersion(),
});
