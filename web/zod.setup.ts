/**
 * zod's settings for the page, its own entry point (`zod-setup.js`), loaded by index.html before
 * `app.js`: zod decides when a schema is built whether it may compile parsers with `new Function`,
 * and probing for it breaks the page's Content-Security-Policy (no eval; the probe alone logs a
 * violation). Module scripts run in document order, so every schema of src/api/contract.ts is
 * built after this. (An import at the top of web/main.ts would not do: with code splitting,
 * esbuild runs the shared chunks, schemas included, before the entry's own code.)
 */
import { config } from 'zod';

config({ jitless: true });
