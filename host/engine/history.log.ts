import { eventKey, type HistoryEvent, type RetryOptions } from './history.js';

/**
 * Line format of a history blob (one JSON object per line):
 *   {"k":"i","ev":{...}}            an incoming event persisted before an episode consumed it
 *   {"k":"e","ep":N,"ev":{...}}     a history event of episode N
 *   {"k":"r","ep":N,"key":"t:5"}    a history event of episode N that was persisted earlier as "i"
 *   {"k":"c","ep":N,"s":{...}}      commit marker of episode N with the host's bookkeeping
 * Episode lines also carry "a", a random id of the write attempt: a torn attempt of episode N
 * and its retry after a restart are told apart.
 * An episode counts only once its commit marker is present, so an episode written in several
 * appends (over 4 MiB) and cut off by a crash is ignored as a whole. Every append starts with a
 * newline, so a cut-off line never merges with the next append's first line.
 */
export type LogLine =
  | { k: 'i'; ev: HistoryEvent }
  | { k: 'e'; ep: number; a: string; ev: HistoryEvent }
  | { k: 'r'; ep: number; a: string; key: string }
  | { k: 'c'; ep: number; a: string; s: EpisodeSnapshot };

export interface RetrySnapshot {
  /** Attempts made so far (1 = first attempt). */
  attempt: number;
  options: RetryOptions;
  /** Orchestration time (ms) of the first attempt, for retryTimeoutInMilliseconds. */
  t0?: number;
}

/** What the host must remember between episodes besides the events themselves. */
export interface EpisodeSnapshot {
  /** Runtime status after the episode. */
  st: string;
  /** Leaf actions already handled (actions are cumulative). */
  h: number;
  /** Next EventId (sequence number). */
  id: number;
  /** Custom status JSON text. */
  cs?: string | undefined;
  /** Output JSON text when finished. */
  out?: string | undefined;
  /** Retry state per action index. */
  r?: Record<string, RetrySnapshot>;
  /** Cancelled timer ids. */
  x?: number[];
  /** Entity critical section held: lock request id and the entities' scheduler ids. */
  l?: { id: string; e: string[] };
  /** Continue-as-new: the next execution. */
  next?: { executionId: string; input: string | undefined };
}

export interface ParsedLog {
  committed: HistoryEvent[];
  /** Incoming events persisted but not consumed by a committed episode, in arrival order. */
  pending: HistoryEvent[];
  snapshot: EpisodeSnapshot | undefined;
  episodes: number;
  /** Number of lines that could not be parsed (a torn tail after a crash). */
  tornLines: number;
}

export function parseLog(text: string): ParsedLog {
  const inbox = new Map<string, HistoryEvent>();
  const committed: HistoryEvent[] = [];
  const consumed = new Set<string>();
  let buffer: HistoryEvent[] = [];
  let bufferEpisode = '';
  let snapshot: EpisodeSnapshot | undefined;
  let episodes = 0;
  let tornLines = 0;
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      tornLines++;
      continue;
    }
    switch (line.k) {
      case 'i': {
        const key = eventKey(line.ev);
        if (key && !inbox.has(key)) inbox.set(key, line.ev);
        break;
      }
      case 'e':
      case 'r': {
        const attempt = `${line.ep}/${line.a}`;
        if (attempt !== bufferEpisode) {
          buffer = [];
          bufferEpisode = attempt;
        }
        const event = line.k === 'e' ? line.ev : inbox.get(line.key);
        if (!event) throw new Error(`History references incoming event ${line.k === 'r' ? line.key : ''} that was never stored`);
        buffer.push(event);
        break;
      }
      case 'c': {
        if (`${line.ep}/${line.a}` === bufferEpisode || buffer.length === 0) {
          for (const event of buffer) {
            committed.push(event);
            const key = eventKey(event);
            if (key) consumed.add(key);
          }
          snapshot = line.s;
          episodes = line.ep + 1;
        }
        buffer = [];
        bufferEpisode = '';
        break;
      }
    }
  }
  const pending = [...inbox.entries()].filter(([key]) => !consumed.has(key)).map(([, event]) => event);
  return { committed, pending, snapshot, episodes, tornLines };
}

export function lineOf(line: LogLine): string {
  return JSON.stringify(line);
}
