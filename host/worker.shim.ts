import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { glob } from 'tinyglobby';
import { adaptSdk, checkSdkVersions } from './sdk.adapter.js';

/** One binding of a registered function, as `@azure/functions` hands it to the worker. */
export interface BindingMetadata {
  type: string;
  direction: 'in' | 'out';
  [option: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingMetadata>;
}

/** RPC typed data, the shape the worker exchanges with the host. */
export interface TypedData {
  string?: string;
  json?: string;
  bytes?: Uint8Array;
  int?: number;
  double?: number;
  http?: RpcHttp;
}

export interface RpcHttp {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  params?: Record<string, string>;
  body?: TypedData;
  statusCode?: string;
  cookies?: unknown[];
}

export interface InvocationResponse {
  returnValue?: TypedData | null;
  outputData: Array<{ name: string; data: TypedData }>;
}

type FunctionCallback = (...args: unknown[]) => unknown;

export interface Registration {
  name: string;
  metadata: FunctionMetadata;
  callback: FunctionCallback;
  /** Binding name and metadata of the trigger. */
  triggerName: string;
  trigger: BindingMetadata;
}

interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<InvocationResponse>;
}

interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: unknown): InvocationModel;
}

type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';

/** What the host prints for the app's `context.log` calls and the library's system logs. */
export type AppLogger = (level: LogLevel, category: string, message: string, functionName?: string) => void;

const registrations = new Map<string, Registration>();
let programmingModel: ProgrammingModel | undefined;
let appLogger: AppLogger = (level, _category, message, functionName) => {
  if (level === 'debug' || level === 'trace') return;
  const line = functionName ? `[${functionName}] ${message}` : message;
  if (level === 'error' || level === 'critical') console.error(line);
  else if (level === 'warning') console.warn(line);
  else console.log(line);
};

export function setAppLogger(logger: AppLogger): void {
  appLogger = logger;
}

/** Same trigger test as `@azure/functions`: a binding type ending in "Trigger". */
function isTrigger(type: string): boolean {
  return /trigger$/i.test(type);
}

class Disposable {
  static from(...items: Array<{ dispose?: () => void } | undefined>): Disposable {
    return new Disposable(() => items.forEach((item) => item?.dispose?.()));
  }
  #callback: (() => void) | undefined;
  constructor(callback: () => void) {
    this.#callback = callback;
  }
  dispose(): void {
    this.#callback?.();
    this.#callback = undefined;
  }
}

/** The module the real Node worker injects as `@azure/functions-core`. */
const coreApi = {
  version: '3.10.1',
  hostVersion: '4.1037.0',
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
    const entry = Object.entries(metadata.bindings).find(([, binding]) => isTrigger(binding.type));
    if (!entry) throw new Error(`Function "${metadata.name}" has no trigger binding`);
    if (registrations.has(metadata.name)) throw new Error(`A function named "${metadata.name}" is already registered`);
    registrations.set(metadata.name, { name: metadata.name, metadata, callback, triggerName: entry[0], trigger: entry[1] });
    return new Disposable(() => registrations.delete(metadata.name));
  },
  registerHook(_hookName: string, _callback: unknown): Disposable {
    // The worker path the host reproduces (invocation model) does not run hooks either.
    return new Disposable(() => undefined);
  },
  setProgrammingModel(model: ProgrammingModel): void {
    programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return programmingModel;
  },
  log(level: LogLevel, category: string, message: string): void {
    appLogger(level, category, message);
  },
  Disposable,
};

let shimInstalled = false;

/**
 * Makes `require('@azure/functions-core')` return the host's core API, the way the worker does.
 * Must run before the app (and so `@azure/functions`) is first loaded: the library caches the
 * "no runtime, test mode" decision on its first registration.
 */
export function installCoreShim(): void {
  if (shimInstalled) return;
  shimInstalled = true;
  const moduleInternals = Module as unknown as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
  };
  const originalLoad = moduleInternals._load;
  const originalResolve = moduleInternals._resolveFilename;
  moduleInternals._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    if (request === '@azure/functions-core') return coreApi;
    return originalLoad.call(this, request, parent, isMain);
  };
  moduleInternals._resolveFilename = function resolveFilename(this: unknown, request: string, ...rest: unknown[]): string {
    if (request === '@azure/functions-core') return request;
    return originalResolve.call(this, request, ...rest);
  };
}

const loadedApps = new Map<string, Promise<Map<string, Registration>>>();

/** Files named by package.json "main" (a file or a glob), relative to the app root. */
async function resolveEntryFiles(appRoot: string): Promise<string[]> {
  const packageJsonPath = join(appRoot, 'package.json');
  if (!existsSync(packageJsonPath)) throw new Error(`No package.json in app root ${appRoot}`);
  const main = (JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { main?: string }).main;
  if (!main) throw new Error(`${packageJsonPath} has no "main": set it to the app's entry file or a glob such as dist/src/functions/*.js`);
  const files = (await glob(main, { cwd: appRoot, absolute: true })).map((file) => (isAbsolute(file) ? file : resolve(appRoot, file))).sort();
  if (files.length === 0) throw new Error(`package.json "main" (${main}) matches no file under ${appRoot}: build the app first (npm run build)`);
  return files;
}

/**
 * Loads the app once per process (ES modules cannot be unloaded) and returns its registrations.
 */
export function loadApp(appRoot: string): Promise<Map<string, Registration>> {
  const key = resolve(appRoot);
  let loaded = loadedApps.get(key);
  if (!loaded) {
    loaded = (async () => {
      if (loadedApps.size > 0) throw new Error('This process already loaded another app; one host process runs one app');
      // Before the app imports the SDKs: a version the host was not built for stops here, by name.
      checkSdkVersions(key);
      installCoreShim();
      for (const file of await resolveEntryFiles(key)) await import(pathToFileURL(file).href);
      if (!programmingModel) throw new Error(`The app under ${key} registered no functions through @azure/functions`);
      adaptSdk(key);
      return registrations;
    })();
    loadedApps.set(key, loaded);
  }
  return loaded;
}

export interface InvokeRequest {
  inputData: Array<{ name: string; data: TypedData | undefined }>;
  triggerMetadata?: Record<string, TypedData>;
  invocationId?: string;
}

/**
 * Invokes one function exactly like the worker: invocation model → arguments → function → response.
 * Rejects with the function's error.
 */
export async function invokeRegistration(registration: Registration, request: InvokeRequest): Promise<InvocationResponse> {
  if (!programmingModel) throw new Error('No programming model registered; was the app loaded?');
  const invocationId = request.invocationId ?? randomUUID();
  const coreContext = {
    invocationId,
    request: { invocationId, inputData: request.inputData, triggerMetadata: request.triggerMetadata ?? {} },
    metadata: registration.metadata,
    state: 'invocation',
    log: (level: LogLevel, category: string, message: string) => appLogger(level, category, message, registration.name),
  };
  const model = programmingModel.getInvocationModel(coreContext);
  const { context, inputs } = await model.getArguments();
  const result = await model.invokeFunction(context, inputs, registration.callback);
  return model.getResponse(context, result);
}

/** JSON text of a typed value (activity results are stored as JSON text in history). */
export function typedDataToJson(data: TypedData | null | undefined): string {
  if (!data) return 'null';
  if (data.json !== undefined) return data.json;
  if (data.string !== undefined) return JSON.stringify(data.string);
  if (data.int !== undefined) return JSON.stringify(data.int);
  if (data.double !== undefined) return JSON.stringify(data.double);
  if (data.bytes !== undefined) return JSON.stringify(Buffer.from(data.bytes).toString('base64'));
  return 'null';
}
