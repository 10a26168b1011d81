/**
 * How long `GET /api/jobs` takes while each hostile class of issue 18 is in progress, against the
 * same host idle, in the same process and alternating rounds (idle, then loaded, class by class).
 * The e2e test (test/e2e/hostile.e2e.test.ts) asserts that the API answers; this prints how fast:
 * median, p95 and max of N sequential requests each way, and the loaded/idle ratios. A request
 * that gets no answer within --timeout counts as that long and is reported.
 *
 * Classes (the corpus's cases, uploaded afresh each round so every round starts new jobs):
 *   crs       CRSs naming files and URLs, and the legitimate ones (class A)
 *   pipes     CRSs naming a named pipe (class A; released after each round)
 *   sizes     declared sizes, bombs, the tile cap (class B)
 *   limits    files only the inspection limits stop, on a host with INGEST_INSPECT_TIMEOUT_SECONDS=1 (class C)
 *   metadata  out-of-range times and dates (class E)
 *   globs     explosive include globs over names that make them backtrack (class D)
 *   batches   prefixes and manifests of names at the blob-name limit (class D)
 *   requests  garbage continuation tokens and source-map requests, sent without pause (class D)
 *
 *   npm run build && node dist/bench/hostile.latency.bench.js [--rounds 3] [--requests 40] [--classes crs,sizes]
 *
 * Not part of the test suite; hosts run with the corpus's environment (PROJ's network on, HOME in
 * the sentinel folder), the main one under the e2e's memory cap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { startCanaryServer } from '../test/support/canary.server.js';
import { generateHostileCorpus, type BatchCase, type FileCase, type HostileCase, type QueryCase } from '../test/support/hostile.corpus.js';
import { finishedStatuses, request, startHostUnderTest, waitUntilFinished, type HostUnderTest } from '../test/support/hostile.harness.js';
import { loadLine, median, runIfMain, waitForIdle } from './bench.support.js';

const classNames = ['crs', 'pipes', 'sizes', 'limits', 'metadata', 'globs', 'batches', 'requests'] as const;
type ClassName = (typeof classNames)[number];

/** Which corpus cases make up a class. */
function casesOf(name: ClassName, cases: readonly HostileCase[]): HostileCase[] {
  const files = cases.filter((entry): entry is FileCase => entry.kind === 'file' && entry.container === 'incoming');
  const batches = cases.filter((entry): entry is BatchCase => entry.kind === 'batch');
  switch (name) {
    case 'crs':
      return files.filter((entry) => entry.category.startsWith('CRS') && entry.host !== 'blocking');
    case 'pipes':
      return files.filter((entry) => entry.host === 'blocking');
    case 'sizes':
      return files.filter((entry) => entry.host === 'memory-capped');
    case 'limits':
      return files.filter((entry) => entry.host === 'inspect-timeout');
    case 'metadata':
      return files.filter((entry) => entry.category === 'metadata range');
    case 'globs':
      return batches.filter((entry) => entry.host === 'globs');
    case 'batches':
      return batches.filter((entry) => entry.host === undefined);
    case 'requests':
      return cases.filter((entry): entry is QueryCase => entry.kind === 'query');
  }
}

interface Series {
  ms: number[];
  /** Requests that got no 200 (or no answer in time). */
  unanswered: number;
}

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? Number.NaN;
}

/** `count` sequential `GET /api/jobs?top=50`, each allowed `timeoutMs`. */
async function measureList(baseUrl: string, count: number, timeoutMs: number): Promise<Series> {
  const series: Series = { ms: [], unanswered: 0 };
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const answer = await request(`${baseUrl}/api/jobs?top=50`, {}, timeoutMs);
    series.ms.push(performance.now() - started);
    if (answer.status !== 200) series.unanswered++;
  }
  return series;
}

/**
 * Starts a class's hostile work on `host` under `round`'s own names and collections (so that no
 * submission is answered as an existing job), and returns what to wait for before the next round.
 */
async function startWork(name: ClassName, cases: HostileCase[], host: HostUnderTest, round: number): Promise<{ pending: () => Promise<number>; settle: () => Promise<void> }> {
  const base = host.host.baseUrl;
  const post = (path: string, body: unknown): Promise<{ status: number; json: unknown }> => request(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }, 120_000);
  const statusPaths: string[] = [];
  if (name === 'requests') {
    let running = true;
    const queries = cases as QueryCase[];
    const loop = (async () => {
      for (let i = 0; running; i++) await request(`${base}${queries[i % queries.length]!.path}`, {}, 60_000);
    })();
    return { pending: async () => (running ? 1 : 0), settle: async () => void ((running = false), await loop) };
  }
  const submissions: Array<Promise<void>> = [];
  for (const entry of cases) {
    if (entry.kind === 'file') {
      const folder = `bench-r${round}/${entry.source.slice(0, entry.source.lastIndexOf('/') + 1)}`;
      for (const file of [...entry.files.slice(1), entry.files[0]!]) await host.store.uploadFile({ container: entry.container, name: `${folder}${file.blobName}` }, file.localPath, 'application/octet-stream');
      submissions.push(
        post('/api/jobs', { source: `${entry.container}/${folder}${entry.files[0]!.blobName}`, collection: `bench-r${round}`, ...(entry.options ? { options: entry.options } : {}) }).then((answer) => {
          const id = (answer.json as { id?: string } | undefined)?.id;
          if (id) statusPaths.push(`/api/jobs/${encodeURIComponent(id)}`);
        }),
      );
    } else if (entry.kind === 'batch') {
      if (round === 1) for (const blob of entry.blobs) await host.store.uploadFile({ container: blob.container, name: blob.name }, blob.localPath, 'application/octet-stream');
      submissions.push(
        post('/api/batches', { ...entry.body, collection: `${String(entry.body['collection'])}-r${round}` }).then((answer) => {
          const id = (answer.json as { id?: string } | undefined)?.id;
          if (id) statusPaths.push(`/api/batches/${encodeURIComponent(id)}`);
        }),
      );
    }
  }
  const all = Promise.all(submissions);
  return {
    pending: async () => {
      let running = 0;
      for (const path of statusPaths) {
        const answer = await request(`${base}${path}`, {}, 5_000);
        if (answer.status !== 200 || !finishedStatuses.has(String((answer.json as { status?: string }).status))) running++;
      }
      return running + (statusPaths.length < cases.length ? 1 : 0);
    },
    settle: async () => {
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 180_000))]);
      for (const path of statusPaths) await waitUntilFinished(base, path, 180_000, 1000);
    },
  };
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--rounds <n>', 'rounds (each: every class idle, then loaded)', '3')
    .option('--requests <n>', 'GET /api/jobs requests per measurement', '40')
    .option('--timeout <ms>', 'time allowed each request before it counts as unanswered', '60000')
    .option('--classes <list>', `comma list of ${classNames.join(', ')}`, classNames.join(','))
    .parse()
    .opts<{ rounds: string; requests: string; timeout: string; classes: string }>();
  const rounds = Math.max(1, Number(options.rounds));
  const count = Math.max(5, Number(options.requests));
  const timeoutMs = Number(options.timeout);
  const chosen = options.classes.split(',').map((name) => name.trim()) as ClassName[];
  for (const name of chosen) if (!classNames.includes(name)) throw new Error(`unknown class ${name}; use ${classNames.join(', ')}`);

  const canary = await startCanaryServer();
  const corpus = generateHostileCorpus({ canaryUrl: canary.baseUrl, blobFolder: 'hostile' });
  const scratch = mkdtempSync(join(tmpdir(), 'hostile-bench-'));
  const hosts = new Map<string, HostUnderTest>();
  try {
    hosts.set('main', await startHostUnderTest('memory-capped', canary, { ...corpus.hostEnvironment, INGEST_TILE_SIZE: '512' }, scratch));
    if (chosen.includes('limits')) hosts.set('limits', await startHostUnderTest('inspect-timeout', canary, corpus.hostEnvironment, scratch));
    if (chosen.includes('globs')) hosts.set('globs', await startHostUnderTest('globs', canary, corpus.hostEnvironment, scratch));
    const hostOf = (name: ClassName): HostUnderTest => hosts.get(name === 'limits' || name === 'globs' ? name : 'main')!;
    const results = new Map<ClassName, { idle: Series; loaded: Series; stillRunning: number[] }>();
    for (let round = 1; round <= rounds; round++) {
      for (const name of chosen) {
        const host = hostOf(name);
        console.log(`round ${round}, ${name}: ${await waitForIdle(0.3, 60_000)}`);
        const idle = await measureList(host.host.baseUrl, count, timeoutMs);
        const work = await startWork(name, casesOf(name, corpus.cases), host, round);
        const loaded = await measureList(host.host.baseUrl, count, timeoutMs);
        const stillRunning = await work.pending();
        await work.settle();
        if (name === 'pipes') for (let i = 0; i < 20 && corpus.releaseFifos().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
        const entry = results.get(name) ?? { idle: { ms: [], unanswered: 0 }, loaded: { ms: [], unanswered: 0 }, stillRunning: [] };
        entry.idle.ms.push(...idle.ms);
        entry.idle.unanswered += idle.unanswered;
        entry.loaded.ms.push(...loaded.ms);
        entry.loaded.unanswered += loaded.unanswered;
        entry.stillRunning.push(stillRunning);
        results.set(name, entry);
      }
    }
    console.log(`\nGET /api/jobs?top=50, ${count} sequential requests per measurement, ${rounds} round(s); ms; ratio = loaded / idle; ${loadLine()}`);
    console.log(`${'class'.padEnd(10)} ${'idle median/p95/max'.padStart(22)} ${'loaded median/p95/max'.padStart(24)} ${'ratios'.padStart(20)}  unanswered  work still running at the end (per round)`);
    const triple = (values: number[]): [number, number, number] => [median(values), percentile(values, 0.95), Math.max(...values)];
    for (const [name, { idle, loaded, stillRunning }] of results) {
      const a = triple(idle.ms);
      const b = triple(loaded.ms);
      const show = (values: [number, number, number]): string => values.map((value) => value.toFixed(0)).join('/');
      const ratios = b.map((value, i) => (value / Math.max(1, a[i]!)).toFixed(2)).join('/');
      console.log(`${name.padEnd(10)} ${show(a).padStart(22)} ${show(b).padStart(24)} ${ratios.padStart(20)}  ${String(idle.unanswered + loaded.unanswered).padStart(10)}  ${stillRunning.join(', ')}`);
    }
  } finally {
    corpus.releaseFifos();
    for (const host of hosts.values()) await host.stop();
    await canary.close();
    corpus.remove();
    rmSync(scratch, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
