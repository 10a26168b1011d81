/**
 * Reading the ARM JSON that `bicep build` makes of infra/main.bicep: finding resources in nested
 * module deployments and resolving the simple expressions (`[parameters('x')]`,
 * `[variables('x').y]`) that carry names from main.bicep into its modules. Anything more complex
 * stays unresolved (undefined), so a test fails rather than guesses.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: Json;
  condition?: Json;
  scope?: Json;
  copy?: JsonObject;
  properties?: JsonObject;
  [key: string]: Json | undefined;
}

/** A template and how its parameters were bound by the deployment that nests it. */
export interface TemplateScope {
  template: JsonObject;
  /** `properties.parameters` of the enclosing Microsoft.Resources/deployments (absent for main). */
  boundParameters: JsonObject | undefined;
  parent: TemplateScope | undefined;
}

/** Where the Bicep CLI is: BICEP_BIN, then .tools/bicep (scripts/install-bicep.sh), then PATH. */
export function findBicep(repoRoot: string): string | undefined {
  const candidates = [process.env['BICEP_BIN'], join(repoRoot, '.tools', 'bicep')].filter((c): c is string => !!c);
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  try {
    execFileSync('bicep', ['--version'], { stdio: 'ignore' });
    return 'bicep';
  } catch {
    return undefined;
  }
}

export function compileBicep(bicep: string, file: string): JsonObject {
  const json = execFileSync(bicep, ['build', file, '--stdout'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(json) as JsonObject;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resources of a template, whether listed (languageVersion 1.0) or keyed by symbol (2.0). */
export function resourcesOf(template: JsonObject): ArmResource[] {
  const resources = template['resources'];
  const list = Array.isArray(resources) ? resources : isObject(resources) ? Object.values(resources) : [];
  return list.filter((r): r is JsonObject => isObject(r) && typeof r['type'] === 'string' && !r['existing']) as unknown as ArmResource[];
}

/** Every template scope: main and each nested module deployment, depth first. */
export function allScopes(main: JsonObject): TemplateScope[] {
  const scopes: TemplateScope[] = [];
  const visit = (scope: TemplateScope): void => {
    scopes.push(scope);
    for (const resource of resourcesOf(scope.template)) {
      const nested = resource.properties?.['template'];
      if (resource.type === 'Microsoft.Resources/deployments' && isObject(nested)) {
        const bound = resource.properties?.['parameters'];
        visit({ template: nested, boundParameters: isObject(bound) ? bound : undefined, parent: scope });
      }
    }
  };
  visit({ template: main, boundParameters: undefined, parent: undefined });
  return scopes;
}

export interface ScopedResource {
  resource: ArmResource;
  scope: TemplateScope;
}

export function findResources(main: JsonObject, type: string): ScopedResource[] {
  return allScopes(main).flatMap((scope) =>
    resourcesOf(scope.template)
      .filter((resource) => resource.type.toLowerCase() === type.toLowerCase())
      .map((resource) => ({ resource, scope })),
  );
}

const parameterRef = /^\[parameters\('([^']+)'\)\]$/;
const variableRef = /^\[variables\('([^']+)'\)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\]$/;

/**
 * The literal value of `value` in `scope`: literals as they are; `[parameters('x')]` through the
 * enclosing deployment's binding or the parameter's default; `[variables('x').a.b]` through the
 * template's variables. Arrays and objects resolve element by element. Otherwise undefined.
 */
export function resolve(value: Json | undefined, scope: TemplateScope): Json | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    const items = value.map((item) => resolve(item, scope));
    return items.every((item) => item !== undefined) ? (items as Json[]) : undefined;
  }
  if (isObject(value)) {
    const entries = Object.entries(value).map(([key, item]) => [key, resolve(item, scope)] as const);
    return entries.every(([, item]) => item !== undefined) ? (Object.fromEntries(entries) as JsonObject) : undefined;
  }
  if (typeof value !== 'string' || !value.startsWith('[') || value.startsWith('[[')) return value;

  const parameter = parameterRef.exec(value);
  if (parameter) return resolveParameter(parameter[1] as string, scope);

  const variable = variableRef.exec(value);
  if (variable) {
    const variables = scope.template['variables'];
    let current: Json | undefined = isObject(variables) ? resolve(variables[variable[1] as string], scope) : undefined;
    for (const key of (variable[2] ?? '').split('.').filter(Boolean)) {
      current = isObject(current) ? current[key] : undefined;
    }
    return current;
  }
  return undefined;
}

export function resolveParameter(name: string, scope: TemplateScope): Json | undefined {
  const bound = scope.boundParameters?.[name];
  if (isObject(bound) && 'value' in bound && scope.parent) return resolve(bound['value'], scope.parent);
  const parameters = scope.template['parameters'];
  const declared = isObject(parameters) ? parameters[name] : undefined;
  return isObject(declared) ? resolve(declared['defaultValue'], scope) : undefined;
}

/**
 * The last segment of a resource name such as `[format('{0}/{1}', parameters('a'), parameters('b'))]`
 * or, for a copy loop, every value of `parameters('list')[copyIndex()]`.
 */
export function leafNames(resource: ArmResource, scope: TemplateScope): string[] | undefined {
  const name = resource.name;
  if (typeof name !== 'string') return undefined;
  if (!name.startsWith('[')) return [name.split('/').pop() as string];
  const loop = /parameters\('([^']+)'\)\[copyIndex\(\)\]\)\]$/.exec(name);
  if (loop) {
    const list = resolveParameter(loop[1] as string, scope);
    return Array.isArray(list) && list.every((item) => typeof item === 'string') ? (list as string[]) : undefined;
  }
  const last = /(parameters|variables)\('([^']+)'\)\)\]$/.exec(name);
  if (last) {
    const leaf = resolve(`[${last[1]}('${last[2]}')]`, scope);
    return typeof leaf === 'string' ? [leaf] : undefined;
  }
  const literal = /'([^']+)'\)\]$/.exec(name);
  return literal ? [literal[1] as string] : undefined;
}
