/**
 * The job API's answers as the CLI parses them: the app's one contract (`src/api/contract.ts`),
 * shared with the dashboard and the OpenAPI description. A service that answers another shape is
 * reported as such instead of being read blindly.
 */
export * from '../src/api/contract.js';
