/**
 * Fan-out / fan-in of no-op activities through the local host with persistence in Azurite:
 * 1,000 and 10,000 activities in one orchestration. Prints activities per second, the 10k/1k
 * time ratio (replay cost must stay linear) and the host's peak memory (VmHWM of the host
 * process, which runs as a child so Azurite and this script are not counted).
 * Targets (issue 3): ≥ 1,000 activities/s at 10,000, ratio ≤ 12, peak ≤ 512 MiB.
 *   npm run build && node dist/bench/fanout.bench.js [--sizes 1000,10000] [--concurrency N]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { startAzurite } from '../host/azurite.js';

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

async function runFanOut(url: string, count: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/runtime/webhooks/durabletask/orchestrators/noopFanOut`, { method: 'POST', body: JSON.stringify(count) });
  if (response.status !== 202) throw new Error(`start answered ${response.status}: ${await response.text()}`);
  const { id } = (await response.json()) as { id: string };
  for (;;) {
    const status = (await (await fetch(`${url}/runtime/webhooks/durabletask/instances/${id}`)).json()) as { runtimeStatus: string; output: unknown };
    if (status.runtimeStatus === 'Completed') {
      if (status.output !== count) throw new Error(`expected output ${count}, got ${JSON.stringify(status.output)}`);
      return (performance.now() - started) / 1000;
    }
    if (status.runtimeStatus === 'Failed' || status.runtimeStatus === 'Terminated') throw new Error(`orchestration ${status.runtimeStatus}: ${JSON.stringify(status.output)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const options = new Command()
  .option('--sizes <list>', 'fan-out sizes, comma separated', '1000,10000')
  .option('--concurrency <n>', 'DURABLE_MAX_CONCURRENT_ACTIVITIES for the host (default: cores)')
  .option('--repeat <n>', 'runs per size; the median is reported', '3')
  .parse()
  .opts<{ sizes: string; concurrency?: string; repeat: string }>();
const repeat = Math.max(1, Number(options.repeat));
const sizes = options.sizes.split(',').map(Number);

const root = projectRoot();
// The host compiled next to this script (dist/host/main.js after npm run build).
const hostMain = join(dirname(fileURLToPath(import.meta.url)), '../host/main.js');
if (!existsSync(hostMain)) throw new Error(`${hostMain} is missing: run npm run build first`);
const location = mkdtempSync(join(tmpdir(), 'fanout-bench-azurite-'));
const azurite = await startAzurite({ location });
const args = [hostMain, '--app-root', join(root, 'test/host/fixtures/app'), '--port', '0', '--hub', 'FanOutBench', '--blob-poll-ms', '0', '--quiet-activities'];
if (options.concurrency) args.push('--max-concurrent-activities', options.concurrency);
const env: NodeJS.ProcessEnv = { ...process.env, AzureWebJobsStorage: azurite.connectionString };
delete env['WEBSITE_HOSTNAME'];
const host = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
host.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
try {
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening on (http:\/\/localhost:\d+)/.exec(output);
      if (match) {
        clearInterval(timer);
        resolve(match[1]!);
      }
    }, 50);
    host.once('exit', (code) => reject(new Error(`host exited with ${code}:\n${output}`)));
  });
  const concurrency = /(\d+) concurrent activities/.exec(output)?.[1];
  console.log(`host ${url} (pid ${host.pid}), ${concurrency} concurrent activities, Azurite persistence (${azurite.connectionString.match(/BlobEndpoint=([^;]+)/)?.[1]})`);
  await runFanOut(url, 100); // warm-up: JIT, connections, containers
  const seconds = new Map<number, number>();
  for (const size of sizes) {
    const runs: number[] = [];
    for (let run = 0; run < repeat; run++) runs.push(await runFanOut(url, size));
    const elapsed = [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
    seconds.set(size, elapsed);
    console.log(
      `fan-out ${String(size).padStart(6)} activities: median ${elapsed.toFixed(2)} s of ${runs.map((r) => r.toFixed(2)).join(', ')} s, ${Math.round(size / elapsed)} activities/s`,
    );
  }
  const peak = peakRssMiB(host.pid!);
  const small = seconds.get(1000);
  const large = seconds.get(10000);
  if (small && large) {
    const ratio = large / small;
    const rate = 10000 / large;
    console.log(`10k/1k time ratio: ${ratio.toFixed(2)} (target ≤ 12; linear would be 10)`);
    console.log(`activities/s at 10,000: ${Math.round(rate)} (target ≥ 1,000; Azure Storage backend documents ~100/s per instance)`);
    console.log(`host peak memory (VmHWM): ${peak.toFixed(0)} MiB (target ≤ 512 MiB)`);
    console.log(`targets: ${rate >= 1000 && ratio <= 12 && peak <= 512 ? 'met' : 'NOT met'}`);
  } else {
    console.log(`host peak memory (VmHWM): ${peak.toFixed(0)} MiB`);
  }
} finally {
  host.kill('SIGTERM');
  await new Promise((resolve) => host.once('exit', resolve));
  await azurite.stop();
  rmSync(location, { recursive: true, force: true });
}
