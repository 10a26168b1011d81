/**
 * `raster-ingest collections` and `raster-ingest collection get|put <id>`: collections' workflow
 * definitions (docs/collections.md). `put` sends a JSON file; replacing a definition names the
 * version it replaces (`--replaces`, from `get`), so a change someone else made meanwhile is
 * refused (the API's 412) rather than overwritten.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { CliUsageError, parsePositiveInteger } from '../cli.args.js';
import { createClient, globalOptions, printJson, type CliRun } from '../cli.context.js';
import type { CollectionList, CollectionView } from '../jobs.api.js';

/** A definition file is small (the API takes at most 64 KB). */
const maxDefinitionBytes = 64 * 1024;

export function formatCollectionTable(list: CollectionList): string {
  const rows = list.collections.map((collection) => {
    const { definition } = collection;
    const sources = definition.sources.map((source) => `${source.container}/${source.prefix}`).join(', ') || '–';
    const gates = Object.keys(definition.gates).join(', ') || '–';
    return [collection.id, `v${collection.version}`, sources, gates, definition.derivedFrom ? `${definition.derivedFrom.product} of ${definition.derivedFrom.collection}` : '–', String(definition.schedules.length), String(definition.notifications.webhooks.length)];
  });
  const header = ['COLLECTION', 'VERSION', 'SOURCES', 'GATES', 'DERIVED FROM', 'SCHEDULES', 'WEBHOOKS'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const table = [line(header), ...rows.map(line)].join('\n');
  return `${rows.length ? table : 'No collection has a definition yet.'}\nUploads no source rule matches go to "${list.defaultCollection}".`;
}

export function formatCollectionDetail(view: CollectionView): string {
  return [`Collection ${view.id}, version ${view.version} (updated ${view.updatedTime})`, `Jobs: ${view.jobs}`, JSON.stringify(view.definition, null, 2)].join('\n');
}

function readDefinitionFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliUsageError(`--file: cannot read ${path}`);
  }
  if (Buffer.byteLength(text) > maxDefinitionBytes) throw new CliUsageError(`--file: ${path} is over ${maxDefinitionBytes} bytes; a definition is far smaller`);
  try {
    return JSON.parse(text);
  } catch {
    throw new CliUsageError(`--file: ${path} is not JSON`);
  }
}

export function collectionsCommand(run: CliRun): Command {
  return new Command('collections').description("List collections' workflow definitions: sources, gates, derivations, schedules, webhooks").action(async (_options: unknown, command: Command) => {
    const global = globalOptions(command, run);
    const list = await createClient(run, global).listCollections();
    if (global.json) printJson(run, list);
    else run.environment.out(formatCollectionTable(list));
  });
}

export function collectionCommand(run: CliRun): Command {
  const collection = new Command('collection').description("Read or write one collection's workflow definition");
  collection
    .command('get')
    .description("Show a collection's definition (or an earlier --version of it)")
    .argument('<id>', 'the collection id')
    .option('--version-number <n>', 'an earlier version')
    .action(async (id: string, options: { versionNumber?: string }, command: Command) => {
      const global = globalOptions(command, run);
      const version = options.versionNumber === undefined ? undefined : parsePositiveInteger(options.versionNumber, '--version-number');
      const view = await createClient(run, global).getCollection(id, version);
      if (global.json) printJson(run, view);
      else run.environment.out(formatCollectionDetail(view));
    });
  collection
    .command('put')
    .description('Create a definition, or replace the version --replaces names (admin role)')
    .argument('<id>', 'the collection id')
    .requiredOption('--file <path>', 'the definition, as JSON')
    .option('--replaces <version>', 'the version being replaced (from `collection get`); omit to create')
    .action(async (id: string, options: { file: string; replaces?: string }, command: Command) => {
      const global = globalOptions(command, run);
      const replaces = options.replaces === undefined ? undefined : parsePositiveInteger(options.replaces, '--replaces');
      const definition = readDefinitionFile(options.file);
      if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) throw new CliUsageError('--file: a definition is a JSON object');
      const view = await createClient(run, global).putCollection(id, definition as Record<string, unknown>, replaces);
      if (global.json) printJson(run, view);
      else run.environment.out(`Collection ${view.id}: version ${view.version}`);
    });
  return collection;
}
