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
