// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.azurite/**', '.data/**', 'test/host/fixtures/**', 'coverage/**', '.tools/**', 'test-results/**', 'demo-output/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The dashboard runs in the browser (type-checked with the DOM library by web/tsconfig.json).
    files: ['web/**/*.ts'],
    languageOptions: {
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'URL', 'URLSearchParams', 'AbortController', 'AbortSignal', 'Event', 'HTMLElement', 'HTMLImageElement', 'HTMLInputElement', 'HTMLSelectElement', 'HTMLDivElement', 'HTMLFormElement', 'FormData', 'Response', 'Headers', 'sessionStorage'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // The API contract is bundled into the dashboard: zod and pure modules only, never Node or server I/O.
    files: ['src/api/contract.ts', 'src/collections/definition.schema.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'buffer', 'url'], message: 'The API contract runs in the browser: no Node built-ins.' },
            { group: ['@azure/*', 'durable-functions', 'gdal-async', '@asteasolutions/*'], message: 'The API contract runs in the browser: zod only.' },
          ],
        },
      ],
    },
  },
  {
    // Orchestrators replay: determinism is enforced by the linter, not by memory.
    files: ['src/orchestrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'http', 'https'], message: 'Orchestrators must be deterministic: no Node built-ins.' },
            { group: ['gdal-async', '@azure/storage-*', '@azure/data-tables', '@azure/identity'], message: 'Orchestrators do no I/O: call an activity.' },
            { group: ['**/config.js', '**/storage/**', '**/activities/**'], message: 'Orchestrators read no settings and do no I/O.' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime.' },
        { object: 'Math', property: 'random', message: 'Use context.df.newGuid().' },
        { object: 'process', property: 'env', message: 'Pass settings in the orchestration input.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use context.df.currentUtcDateTime.' }],
    },
  },
);
