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
  /** The module deployment resource (in `parent`) that nests this template. */
  deployment?: { resource: ArmResource; scope: TemplateScope };
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

// ---------------------------------------------------------------------------------------------
// A small evaluator of ARM template expressions, enough to decide which resources a parameter
// combination deploys and what values their properties get. Whatever it cannot compute (resource
// references, module outputs, unique names) becomes an Opaque value that keeps its expression text,
// so tests can still see *which* parameter a value came from. `if` evaluates only its taken branch,
// as ARM does; with an opaque condition it evaluates both (a test then fails rather than guesses).
// ---------------------------------------------------------------------------------------------

/** A value the evaluator cannot compute without Azure, carried as its expression text. */
export class Opaque {
  constructor(readonly text: string) {}
  toString(): string {
    return `[${this.text}]`;
  }
}

/** `lambda('x', body)`: applied by map() and filter() with `lambdaVariables('x')` bound. */
export class Lambda {
  constructor(
    readonly parameterNames: string[],
    readonly body: Expression,
    readonly scope: TemplateScope,
  ) {}
}

export type Value = null | boolean | number | string | Opaque | Lambda | Value[] | { [key: string]: Value };

type Expression =
  | { kind: 'literal'; value: string | number }
  | { kind: 'call'; name: string; args: Expression[] }
  | { kind: 'member'; target: Expression; property: Expression };

/** Parses the inside of `[...]`: function calls, 'strings', numbers, `.property` and `[index]`. */
export function parseArmExpression(text: string): Expression {
  let position = 0;
  const skipSpace = (): void => {
    while (position < text.length && /\s/.test(text[position] as string)) position++;
  };
  const fail = (what: string): never => {
    throw new Error(`ARM expression: expected ${what} at ${position} in ${text}`);
  };
  const parsePrimary = (): Expression => {
    skipSpace();
    const char = text[position];
    if (char === "'") {
      let value = '';
      position++;
      for (;;) {
        if (position >= text.length) fail('closing quote');
        if (text[position] === "'") {
          if (text[position + 1] === "'") {
            value += "'";
            position += 2;
            continue;
          }
          position++;
          break;
        }
        value += text[position];
        position++;
      }
      return { kind: 'literal', value };
    }
    const number = /^-?\d+/.exec(text.slice(position));
    if (number) {
      position += number[0].length;
      return { kind: 'literal', value: Number(number[0]) };
    }
    const name = /^[A-Za-z_$#][\w$#.]*?(?=\s*\()/.exec(text.slice(position));
    if (!name) return fail('a function call');
    position += name[0].length;
    skipSpace();
    position++; // (
    const args: Expression[] = [];
    skipSpace();
    if (text[position] === ')') position++;
    else {
      for (;;) {
        args.push(parseAccess());
        skipSpace();
        if (text[position] === ',') {
          position++;
          continue;
        }
        if (text[position] === ')') {
          position++;
          break;
        }
        fail("',' or ')'");
      }
    }
    return { kind: 'call', name: name[0], args };
  };
  const parseAccess = (): Expression => {
    let expression = parsePrimary();
    for (;;) {
      skipSpace();
      if (text[position] === '.') {
        position++;
        const property = /^[A-Za-z_$][\w$]*/.exec(text.slice(position));
        if (!property) fail('a property name');
        position += (property as RegExpExecArray)[0].length;
        expression = { kind: 'member', target: expression, property: { kind: 'literal', value: (property as RegExpExecArray)[0] } };
      } else if (text[position] === '[') {
        position++;
        const index = parseAccess();
        skipSpace();
        if (text[position] !== ']') fail("']'");
        position++;
        expression = { kind: 'member', target: expression, property: index };
      } else return expression;
    }
  };
  const expression = parseAccess();
  skipSpace();
  if (position !== text.length) fail('the end');
  return expression;
}

function textOf(expression: Expression): string {
  if (expression.kind === 'literal') return typeof expression.value === 'string' ? `'${expression.value.replace(/'/g, "''")}'` : String(expression.value);
  if (expression.kind === 'call') return `${expression.name}(${expression.args.map(textOf).join(', ')})`;
  const property = expression.property;
  return property.kind === 'literal' && typeof property.value === 'string' ? `${textOf(expression.target)}.${property.value}` : `${textOf(expression.target)}[${textOf(property)}]`;
}

const isPlainObject = (value: Value | undefined): value is { [key: string]: Value } =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Opaque) && !(value instanceof Lambda);

function containsOpaque(value: Value): boolean {
  if (value instanceof Opaque) return true;
  if (Array.isArray(value)) return value.some(containsOpaque);
  if (isPlainObject(value)) return Object.values(value).some(containsOpaque);
  return false;
}

/** Evaluates template values in the scopes of one deployment, recording every function it calls. */
export class ArmEvaluator {
  /** Names of every function evaluated (list functions included), for proofs of what ARM would call. */
  readonly calls: string[] = [];
  private readonly lambdaVariables: Map<string, Value>[] = [];

  /** @param parameterValues main.bicep's parameter values (e.g. from `bicep build-params`); others take their defaults. */
  constructor(private readonly parameterValues: JsonObject = {}) {}

  /** A template value with every `[expression]` string in it evaluated. */
  value(value: Json | undefined, scope: TemplateScope): Value | undefined {
    if (value === undefined) return undefined;
    if (Array.isArray(value)) return value.map((item) => this.value(item, scope) ?? null);
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.value(item, scope) ?? null]));
    if (typeof value === 'string' && value.startsWith('[') && !value.startsWith('[[') && value.endsWith(']')) {
      return this.evaluate(parseArmExpression(value.slice(1, -1)), scope);
    }
    return typeof value === 'string' && value.startsWith('[[') ? value.slice(1) : value;
  }

  parameter(name: string, scope: TemplateScope): Value {
    if (!scope.parent && name in this.parameterValues) return this.value(this.parameterValues[name], scope) ?? null;
    const bound = scope.boundParameters?.[name];
    if (bound !== undefined && scope.parent) {
      // `{ "value": ... }`, or an expression that yields one (Bicep compiles conditional bindings so).
      const binding = isObject(bound) ? bound : this.value(bound, scope.parent);
      if (isPlainObject(binding) && 'value' in binding) {
        const raw = binding['value'] as Json | Value;
        const value = isObject(bound) ? (this.value(raw as Json, scope.parent) ?? null) : (raw as Value);
        return value instanceof Opaque ? new Opaque(`parameters('${name}')`) : value;
      }
      if (binding instanceof Opaque) return new Opaque(`parameters('${name}')`);
    }
    const parameters = scope.template['parameters'];
    const declared = isObject(parameters) ? parameters[name] : undefined;
    if (isObject(declared) && 'defaultValue' in declared) return this.value(declared['defaultValue'], scope) ?? null;
    if (isObject(declared) && declared['nullable'] === true) return null;
    return new Opaque(`parameters('${name}')`);
  }

  private evaluate(expression: Expression, scope: TemplateScope): Value {
    if (expression.kind === 'literal') return expression.value;
    if (expression.kind === 'member') {
      const target = this.evaluate(expression.target, scope);
      const property = this.evaluate(expression.property, scope);
      if (isPlainObject(target) && typeof property === 'string') return target[property] ?? null;
      if (Array.isArray(target) && typeof property === 'number') return target[property] ?? null;
      return new Opaque(textOf(expression));
    }
    const name = expression.name.toLowerCase();
    this.calls.push(expression.name);
    if (name === 'lambda') {
      const names = expression.args.slice(0, -1).map((arg) => (arg.kind === 'literal' ? String(arg.value) : ''));
      return new Lambda(names, expression.args[expression.args.length - 1] as Expression, scope);
    }
    if (name === 'lambdavariables') {
      const variable = expression.args[0];
      const key = variable?.kind === 'literal' ? String(variable.value) : '';
      for (let index = this.lambdaVariables.length - 1; index >= 0; index--) {
        const frame = this.lambdaVariables[index] as Map<string, Value>;
        if (frame.has(key)) return frame.get(key) as Value;
      }
      return new Opaque(textOf(expression));
    }
    if (name === 'if') {
      const condition = this.evaluate(expression.args[0] as Expression, scope);
      if (typeof condition === 'boolean') return this.evaluate(expression.args[condition ? 1 : 2] as Expression, scope);
      this.evaluate(expression.args[1] as Expression, scope);
      this.evaluate(expression.args[2] as Expression, scope);
      return new Opaque(textOf(expression));
    }
    const args = expression.args.map((arg) => this.evaluate(arg, scope));
    const opaque = new Opaque(textOf(expression));
    const first = args[0];
    switch (name) {
      case 'parameters':
        return typeof first === 'string' ? this.parameter(first, scope) : opaque;
      case 'variables': {
        const variables = scope.template['variables'];
        return typeof first === 'string' && isObject(variables) && first in variables ? (this.value(variables[first], scope) ?? null) : opaque;
      }
      case 'true':
        return true;
      case 'false':
        return false;
      case 'null':
        return null;
      case 'createobject': {
        const entries: [string, Value][] = [];
        for (let index = 0; index < args.length; index += 2) {
          const key = args[index];
          if (typeof key !== 'string') return opaque;
          entries.push([key, args[index + 1] ?? null]);
        }
        return Object.fromEntries(entries);
      }
      case 'createarray':
        return args;
      case 'union':
        if (args.every(isPlainObject)) return Object.assign({}, ...args);
        if (args.every(Array.isArray)) return [...new Set(args.flat())];
        return opaque;
      case 'concat':
        if (args.every(Array.isArray)) return args.flat();
        return args.every((arg) => typeof arg === 'string') ? args.join('') : opaque;
      case 'format':
        return typeof first === 'string' && args.slice(1).every((arg) => ['string', 'number', 'boolean'].includes(typeof arg))
          ? first.replace(/\{(\d+)\}/g, (_match, index: string) => String(args[Number(index) + 1]))
          : opaque;
      case 'string':
        return ['string', 'number', 'boolean'].includes(typeof first) ? String(first) : opaque;
      case 'tolower':
        return typeof first === 'string' ? first.toLowerCase() : opaque;
    }
    const apply = (lambda: Lambda, values: Value[]): Value => {
      this.lambdaVariables.push(new Map(lambda.parameterNames.map((parameter, index) => [parameter, values[index] ?? null])));
      try {
        return this.evaluate(lambda.body, lambda.scope);
      } finally {
        this.lambdaVariables.pop();
      }
    };
    const second = args[1];
    if ((name === 'map' || name === 'filter') && Array.isArray(first) && second instanceof Lambda) {
      if (name === 'map') return first.map((item, index) => apply(second, [item, index]));
      const kept: Value[] = [];
      for (const [index, item] of first.entries()) {
        const keep = apply(second, [item, index]);
        if (typeof keep !== 'boolean') return opaque;
        if (keep) kept.push(item);
      }
      return kept;
    }
    if (name === 'equals' && (first === null || second === null) && first !== second) {
      // null against a value that exists (even with opaque parts) is decidable.
      const other = first === null ? second : first;
      if (!(other instanceof Opaque)) return false;
    }
    if (args.some(containsOpaque)) return opaque;
    switch (name) {
      case 'equals':
        return JSON.stringify(args[0]) === JSON.stringify(args[1]);
      case 'add':
        return typeof first === 'number' && typeof second === 'number' ? first + second : opaque;
      case 'mul':
        return typeof first === 'number' && typeof second === 'number' ? first * second : opaque;
      case 'div':
        // ARM's div is integer division, truncated toward zero.
        return typeof first === 'number' && typeof second === 'number' && second !== 0 ? Math.trunc(first / second) : opaque;
      case 'max':
        return args.length > 0 && args.every((arg) => typeof arg === 'number') ? Math.max(...(args as number[])) : opaque;
      case 'min':
        return args.length > 0 && args.every((arg) => typeof arg === 'number') ? Math.min(...(args as number[])) : opaque;
      case 'json': {
        if (typeof first !== 'string') return opaque;
        try {
          return JSON.parse(first) as Value;
        } catch {
          return opaque;
        }
      }
      case 'greater':
        return typeof first === 'number' && typeof second === 'number' ? first > second : opaque;
      case 'less':
        return typeof first === 'number' && typeof second === 'number' ? first < second : opaque;
      case 'split':
        return typeof first === 'string' && typeof second === 'string' ? first.split(second) : opaque;
      case 'trim':
        return typeof first === 'string' ? first.trim() : opaque;
      case 'join':
        return Array.isArray(first) && typeof second === 'string' ? first.map(String).join(second) : opaque;
      case 'length':
        return Array.isArray(first) || typeof first === 'string' ? first.length : opaque;
      case 'not':
        return typeof first === 'boolean' ? !first : opaque;
      case 'and':
        return args.every((arg) => typeof arg === 'boolean') ? args.every(Boolean) : opaque;
      case 'or':
        return args.every((arg) => typeof arg === 'boolean') ? args.some(Boolean) : opaque;
      case 'empty':
        return first === null || first === '' || (Array.isArray(first) && first.length === 0) || (isPlainObject(first) && Object.keys(first).length === 0);
      case 'bool':
        return typeof first === 'boolean' ? first : first === 'true';
      default:
        return opaque;
    }
  }

  /** Whether a resource (or module) of `scope` is deployed: its condition, and every enclosing module's. */
  deployed(resource: ArmResource, scope: TemplateScope): boolean | undefined {
    const own = resource.condition === undefined ? true : this.value(resource.condition, scope);
    if (typeof own !== 'boolean') return undefined;
    const chain = scope.deployment ? this.deployed(scope.deployment.resource, scope.deployment.scope) : true;
    return chain === undefined ? undefined : own && chain;
  }
}

/** Every template scope with the module resource that opened it, for conditions up the chain. */
export function scopesWithDeployments(main: JsonObject): TemplateScope[] {
  const scopes: TemplateScope[] = [];
  const visit = (scope: TemplateScope): void => {
    scopes.push(scope);
    for (const resource of resourcesOf(scope.template)) {
      const nested = resource.properties?.['template'];
      if (resource.type === 'Microsoft.Resources/deployments' && isObject(nested)) {
        const bound = resource.properties?.['parameters'];
        visit({ template: nested, boundParameters: isObject(bound) ? bound : undefined, parent: scope, deployment: { resource, scope } });
      }
    }
  };
  visit({ template: main, boundParameters: undefined, parent: undefined });
  return scopes;
}

/** Resources of a type that the evaluator's parameters deploy (condition true up the module chain). */
export function deployedResources(main: JsonObject, evaluator: ArmEvaluator, type: string): ScopedResource[] {
  return scopesWithDeployments(main).flatMap((scope) =>
    resourcesOf(scope.template)
      .filter((resource) => resource.type.toLowerCase() === type.toLowerCase())
      .filter((resource) => {
        const deployed = evaluator.deployed(resource, scope);
        if (deployed === undefined) throw new Error(`cannot decide whether ${resource.type} ${JSON.stringify(resource.name)} is deployed`);
        return deployed;
      })
      .map((resource) => ({ resource, scope })),
  );
}

/** Parameter values of a .bicepparam file, compiled with `bicep build-params`. */
export function compileBicepParams(bicep: string, file: string): JsonObject {
  const output = JSON.parse(execFileSync(bicep, ['build-params', file, '--stdout'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })) as JsonObject;
  const parameters = (JSON.parse(String(output['parametersJson'])) as JsonObject)['parameters'] as JsonObject;
  return Object.fromEntries(Object.entries(parameters).map(([name, entry]) => [name, (entry as JsonObject)['value'] as Json]));
}
