/**
 * Validates STAC documents against the official JSON Schemas kept in the repository, in
 * `test/support/stac-schemas` (each schema at its URL's path without the scheme; see its README).
 * Core schema by document type, plus every schema the document lists in `stac_extensions`.
 * Always there, so every STAC check always runs: a clone of this repository alone validates.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The schemas, in the repository. */
export const stacSchemasDir = resolve(projectRoot, 'test/support/stac-schemas');

const coreSchemas = {
  Feature: 'https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json',
  Collection: 'https://schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json',
  Catalog: 'https://schemas.stacspec.org/v1.1.0/catalog-spec/json-schema/catalog.json',
} as const;

/** `https://host/path` → `<stacSchemasDir>/host/path`. */
export function schemaPathForUrl(url: string): string {
  const withoutScheme = url.replace(/^https?:\/\//, '').replace(/#.*$/, '');
  return join(stacSchemasDir, withoutScheme);
}

function readSchema(url: string): AnySchemaObject {
  const path = schemaPathForUrl(url);
  if (!existsSync(path)) throw new Error(`Schema ${url} is not in ${stacSchemasDir} (looked for ${path})`);
  return JSON.parse(readFileSync(path, 'utf8')) as AnySchemaObject;
}

/**
 * Extensions whose schema is not kept in test/support/stac-schemas: documents that declare them are
 * checked against everything else, and this note is printed once. Only these; any other missing
 * schema is an error.
 */
export const unavailableExtensionSchemas: ReadonlySet<string> = new Set(['https://stac-extensions.github.io/processing/v1.2.0/schema.json']);
let skippedNotePrinted = false;

function noteSkipped(url: string): void {
  if (skippedNotePrinted) return;
  skippedNotePrinted = true;
  console.warn(`STAC schema validation: ${url} is not in ${stacSchemasDir}, so processing:* fields were NOT checked against it (the core and other extension schemas were).`);
}

export interface StacValidationResult {
  valid: boolean;
  /** One line per problem, prefixed by the schema that reported it. */
  errors: string[];
}

export class StacValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, Promise<ValidateFunction>>();

  constructor() {
    // strict: false because the upstream schemas use additionalItems and loose types.
    this.ajv = new Ajv({ strict: false, allErrors: true, loadSchema: async (url) => readSchema(url) });
    const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
    addFormats(this.ajv);
    // ajv-formats lacks the IRI formats the core schemas use.
    this.ajv.addFormat('iri', (value: string) => URL.canParse(value));
    this.ajv.addFormat('iri-reference', () => true);
    // STAC 1.1.0 common.json declares its $id as ".../commonjson": register it under both names.
    const common = readSchema('https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/commonjson');
    this.ajv.addSchema(common);
    this.ajv.addSchema({ ...common, $id: 'https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/common.json' });
    // projection v2.0.0 does not compile unless PROJJSON v0.7 is already known.
    this.ajv.addSchema(readSchema('https://proj.org/schemas/v0.7/projjson.schema.json'));
  }

  private compile(url: string): Promise<ValidateFunction> {
    let pending = this.compiled.get(url);
    if (!pending) {
      const known = this.ajv.getSchema(url);
      pending = known ? Promise.resolve(known) : this.ajv.compileAsync(readSchema(url));
      this.compiled.set(url, pending);
    }
    return pending;
  }

  /** Validates an item, collection or catalog (by its `type`) with its extensions. */
  async validate(document: unknown): Promise<StacValidationResult> {
    const doc = document as { type?: string; stac_extensions?: unknown };
    const core = coreSchemas[doc.type as keyof typeof coreSchemas];
    if (!core) return { valid: false, errors: [`unknown STAC type ${JSON.stringify(doc.type)}`] };
    const schemas = [core, ...(Array.isArray(doc.stac_extensions) ? (doc.stac_extensions as string[]) : [])];
    const errors: string[] = [];
    for (const url of schemas) {
      if (unavailableExtensionSchemas.has(url) && !existsSync(schemaPathForUrl(url))) {
        noteSkipped(url);
        continue;
      }
      const validateFn = await this.compile(url);
      if (!validateFn(document)) errors.push(...(validateFn.errors ?? []).map((e: ErrorObject) => `${url}: ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`));
    }
    return { valid: errors.length === 0, errors };
  }
}
