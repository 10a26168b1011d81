/**
 * Issue 24: hostile collection definitions (`PUT /api/collections/{id}`). A definition is input
 * too: ids with path tricks, huge and deep JSON, prefixes that are patterns or climb out of their
 * folder, cron expressions that never fire or fire every second, webhook URLs to the metadata
 * endpoint, loopback, `file:`, credentials and numeric-IP disguises, gate areas with absurd
 * coordinates. Each is refused with a 4xx naming its path (`fields`), never stored, never a 500.
 * `test/unit/collections.definition.test.ts` runs them through the validator,
 * `test/e2e/collections.e2e.test.ts` through the local host's HTTP API.
 */
import type { WebhookPolicy } from '../../src/collections/webhook.policy.js';

export interface HostileDefinition {
  name: string;
  category: 'id' | 'deep or huge JSON' | 'prefix' | 'cron' | 'time zone' | 'schedule' | 'webhook' | 'gate area';
  attack: string;
  /** The collection id (the path segment, before encoding). */
  id: string;
  /** The raw body. */
  body: string;
  /** Paths the 400 names (empty: a 413 or a router 404 is the answer). */
  fields: string[];
  /** HTTP answers that are right; default 400. */
  statuses?: number[];
  /** `false`: the case is about the transport (body size, the router), not the validator. */
  unit?: false;
}

/**
 * The allowlist the cases run under: it lists the metadata endpoint's and a loopback origin on
 * purpose, so the address checks, not the allowlist, must refuse them. Loopback is not allowed.
 */
export const hostileWebhookPolicy: WebhookPolicy = {
  allowlist: ['https://hooks.example.com', 'http://169.254.169.254', 'http://127.0.0.1:9', 'http://[fd00::1]', 'https://169.254.169.254'],
  allowLoopback: false,
};

const json = (value: unknown): string => JSON.stringify(value);
const source = [{ container: 'uploads', prefix: 'hostile/' }];
const schedule = (cron: string, timeZone = 'UTC') => json({ sources: source, schedules: [{ name: 'nightly', cron, timeZone }] });
/** A schedule with these extra fields (and `after`), in a collection with a source. */
const scheduleWith = (fields: Record<string, unknown>) => json({ sources: source, schedules: [{ name: 'nightly', cron: '0 3 * * *', ...fields }] });
const webhook = (url: string) => json({ notifications: { webhooks: [{ url }] } });
const area = (footprintWithin: unknown) => json({ gates: { footprintWithin } });
const prefix = (value: string) => json({ sources: [{ container: 'uploads', prefix: value }] });

/** `[[[…]]]` `depth` deep, inside `options`. */
function deepArray(depth: number): string {
  return `{"options":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}

export const hostileDefinitions: readonly HostileDefinition[] = [
  // --- ids --------------------------------------------------------------------------------
  { name: 'id-dot-dot', category: 'id', attack: 'id ".." (a path segment that climbs)', id: '..', body: '{}', fields: ['id'], statuses: [400, 404] },
  { name: 'id-climb', category: 'id', attack: 'id "../rasters" (one segment, encoded)', id: '../rasters', body: '{}', fields: ['id'], statuses: [400, 404] },
  { name: 'id-upper-case', category: 'id', attack: 'id "RASTERS": a second name for a blob path on case-insensitive tools', id: 'RASTERS', body: '{}', fields: ['id'] },
  { name: 'id-nul', category: 'id', attack: 'id with a NUL byte', id: 'rasters\u0000x', body: '{}', fields: ['id'] },
  { name: 'id-fullwidth', category: 'id', attack: 'id "ｒasters" (a full-width letter that looks like r)', id: 'ｒasters', body: '{}', fields: ['id'] },
  { name: 'id-too-long', category: 'id', attack: 'id of 200 characters', id: 'a'.repeat(200), body: '{}', fields: ['id'] },
  { name: 'id-backslash', category: 'id', attack: 'id "a\\..\\b"', id: 'a\\..\\b', body: '{}', fields: ['id'] },
  // --- deep or huge JSON -------------------------------------------------------------------
  { name: 'json-deep-5000', category: 'deep or huge JSON', attack: 'an array 5,000 levels deep inside options', id: 'hostile-deep', body: deepArray(5000), fields: ['options.x'] },
  { name: 'json-deep-30000', category: 'deep or huge JSON', attack: 'an array 30,000 levels deep (60 KB, under the body limit)', id: 'hostile-deep', body: deepArray(30_000), fields: [], statuses: [400] },
  { name: 'json-huge-body', category: 'deep or huge JSON', attack: 'a 1 MB description', id: 'hostile-huge', body: json({ description: 'x'.repeat(1_000_000) }), fields: [], statuses: [413], unit: false },
  { name: 'json-many-sources', category: 'deep or huge JSON', attack: '200 source rules (under the body limit)', id: 'hostile-many', body: json({ sources: Array.from({ length: 200 }, (_, i) => ({ container: 'uploads', prefix: `p${i}/` })) }), fields: ['sources'] },
  { name: 'json-long-description', category: 'deep or huge JSON', attack: 'a 50,000-character description (under the body limit)', id: 'hostile-long', body: json({ description: 'd'.repeat(50_000) }), fields: ['description'] },
  { name: 'json-not-object', category: 'deep or huge JSON', attack: 'a JSON array instead of an object', id: 'hostile-array', body: '[1,2,3]', fields: ['body'] },
  // --- prefixes ----------------------------------------------------------------------------
  { name: 'prefix-glob', category: 'prefix', attack: 'prefix "**/*.tif" (a glob, matched as text it would match nothing; refused instead)', id: 'hostile-prefix', body: prefix('**/*.tif'), fields: ['sources.0.prefix'] },
  { name: 'prefix-regex-bomb', category: 'prefix', attack: 'prefix "(a+)+$" (a catastrophic regular expression)', id: 'hostile-prefix', body: prefix('(a+)+$'), fields: ['sources.0.prefix'] },
  { name: 'prefix-brace-bomb', category: 'prefix', attack: 'prefix "{a,{a,{a,a*}*}*}*b" (the batch glob bomb)', id: 'hostile-prefix', body: prefix('{a,{a,{a,a*}*}*}*b'), fields: ['sources.0.prefix'] },
  { name: 'prefix-climb', category: 'prefix', attack: 'prefix "../cogs/" (out of the container)', id: 'hostile-prefix', body: prefix('../cogs/'), fields: ['sources.0.prefix'] },
  { name: 'prefix-absolute', category: 'prefix', attack: 'prefix "/etc/"', id: 'hostile-prefix', body: prefix('/etc/'), fields: ['sources.0.prefix'] },
  { name: 'prefix-control', category: 'prefix', attack: 'prefix with a newline and an escape sequence', id: 'hostile-prefix', body: prefix('a\n\u001b[31m/'), fields: ['sources.0.prefix'] },
  { name: 'prefix-long', category: 'prefix', attack: 'prefix of 5,000 characters', id: 'hostile-prefix', body: prefix('p'.repeat(5000)), fields: ['sources.0.prefix'] },
  { name: 'prefix-own-container', category: 'prefix', attack: 'a source in the app\'s own output container "cogs"', id: 'hostile-prefix', body: json({ sources: [{ container: 'cogs', prefix: '' }] }), fields: ['sources.0.container'] },
  // --- cron --------------------------------------------------------------------------------
  { name: 'cron-every-second', category: 'cron', attack: '"* * * * * *": six fields, every second', id: 'hostile-cron', body: schedule('* * * * * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-every-minute', category: 'cron', attack: '"* * * * *": every minute', id: 'hostile-cron', body: schedule('* * * * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-burst', category: 'cron', attack: '"0-4 3 * * *": five runs a minute apart each night', id: 'hostile-cron', body: schedule('0-4 3 * * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-february-30', category: 'cron', attack: '"0 3 30 2 *": never fires', id: 'hostile-cron', body: schedule('0 3 30 2 *'), fields: ['schedules.0.cron'] },
  { name: 'cron-april-31', category: 'cron', attack: '"0 3 31 4 *": never fires', id: 'hostile-cron', body: schedule('0 3 31 4 *'), fields: ['schedules.0.cron'] },
  { name: 'cron-garbage', category: 'cron', attack: '"@reboot; rm -rf /"', id: 'hostile-cron', body: schedule('@reboot; rm -rf /'), fields: ['schedules.0.cron'] },
  { name: 'cron-time-zone', category: 'cron', attack: 'time zone "../../etc/localtime"', id: 'hostile-cron', body: schedule('0 3 * * *', '../../etc/localtime'), fields: ['schedules.0.timeZone'] },
  { name: 'cron-seven-fields', category: 'cron', attack: '"0 0 3 * * * 2027": seconds and a year', id: 'hostile-cron', body: schedule('0 0 3 * * * 2027'), fields: ['schedules.0.cron'] },
  { name: 'cron-six-fields-burst', category: 'cron', attack: '"*/1 * * * * *": a seconds field croner would read as every second', id: 'hostile-cron', body: schedule('*/1 * * * * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-last-day', category: 'cron', attack: '"0 3 L * *": croner\'s L extension (last day of the month)', id: 'hostile-cron', body: schedule('0 3 L * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-nearest-weekday', category: 'cron', attack: '"0 3 15W * *": croner\'s W extension', id: 'hostile-cron', body: schedule('0 3 15W * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-nth-weekday', category: 'cron', attack: '"0 3 * * 5#2": croner\'s # extension (second Friday)', id: 'hostile-cron', body: schedule('0 3 * * 5#2'), fields: ['schedules.0.cron'] },
  { name: 'cron-question-mark', category: 'cron', attack: '"0 3 ? * *": Quartz\'s ? wildcard', id: 'hostile-cron', body: schedule('0 3 ? * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-nickname', category: 'cron', attack: '"@daily" padded to the minimum length', id: 'hostile-cron', body: schedule('@daily   '), fields: ['schedules.0.cron'] },
  { name: 'cron-huge-range', category: 'cron', attack: '"0-59999 * * * *": a range far past the field', id: 'hostile-cron', body: schedule('0-59999 * * * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-huge-step', category: 'cron', attack: '"*/100000 3 * * *": a step of 100,000', id: 'hostile-cron', body: schedule('*/100000 3 * * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-huge-list', category: 'cron', attack: 'a minute list of 30 entries, a burst every minute', id: 'hostile-cron', body: schedule(`${Array.from({ length: 30 }, (_, i) => i).join(',')} 3 * * *`), fields: ['schedules.0.cron'] },
  { name: 'cron-too-often', category: 'cron', attack: '"*/4 * * * *": 15 runs an hour (the minimum interval is 5 minutes)', id: 'hostile-cron', body: schedule('*/4 * * * *'), fields: ['schedules.0.cron'] },
  { name: 'cron-leap-day', category: 'cron', attack: '"0 3 29 2 *": fires only on 29 February (years apart)', id: 'hostile-cron', body: schedule('0 3 29 2 *'), fields: ['schedules.0.cron'] },
  { name: 'cron-control', category: 'cron', attack: 'a cron with a newline and an escape sequence', id: 'hostile-cron', body: schedule('0 3 * * *\n\u001b[31m'), fields: ['schedules.0.cron'] },
  // --- time zones ---------------------------------------------------------------------------
  { name: 'tz-etc-passwd', category: 'time zone', attack: 'time zone "../../etc/passwd"', id: 'hostile-tz', body: schedule('0 3 * * *', '../../etc/passwd'), fields: ['schedules.0.timeZone'] },
  { name: 'tz-gmt-99', category: 'time zone', attack: 'time zone "Etc/GMT+99" (shaped as a name, no such zone)', id: 'hostile-tz', body: schedule('0 3 * * *', 'Etc/GMT+99'), fields: ['schedules.0.timeZone'] },
  { name: 'tz-absolute', category: 'time zone', attack: 'time zone "/usr/share/zoneinfo/UTC"', id: 'hostile-tz', body: schedule('0 3 * * *', '/usr/share/zoneinfo/UTC'), fields: ['schedules.0.timeZone'] },
  { name: 'tz-nul', category: 'time zone', attack: 'time zone "Europe/Berlin" with a NUL byte', id: 'hostile-tz', body: schedule('0 3 * * *', 'Europe/Berlin\u0000'), fields: ['schedules.0.timeZone'] },
  { name: 'tz-offset', category: 'time zone', attack: 'time zone "+01:00" (an offset, not a zone)', id: 'hostile-tz', body: schedule('0 3 * * *', '+01:00'), fields: ['schedules.0.timeZone'] },
  { name: 'tz-long', category: 'time zone', attack: 'time zone of 5,000 characters', id: 'hostile-tz', body: schedule('0 3 * * *', `Europe/${'B'.repeat(5000)}`), fields: ['schedules.0.timeZone'] },
  { name: 'tz-unknown', category: 'time zone', attack: 'time zone "Mars/Olympus_Mons"', id: 'hostile-tz', body: schedule('0 3 * * *', 'Mars/Olympus_Mons'), fields: ['schedules.0.timeZone'] },
  // --- schedules and "after" ---------------------------------------------------------------
  { name: 'after-10000', category: 'schedule', attack: '10,000 "after" entries (140 KB: over HTTP the body limit answers 413; the list bound refuses it otherwise)', id: 'hostile-after', body: scheduleWith({ after: Array.from({ length: 10_000 }, () => ({ batch: 'b' })) }), fields: ['schedules.0.after'], statuses: [400, 413] },
  { name: 'after-itself', category: 'schedule', attack: 'a schedule waiting for its own collection (its first run would wait for itself for ever)', id: 'hostile-after', body: scheduleWith({ after: [{ collection: 'hostile-after' }] }), fields: ['schedules.0.after.0.collection'] },
  { name: 'after-unknown', category: 'schedule', attack: '"after" a collection with no definition', id: 'hostile-after', body: scheduleWith({ after: [{ collection: 'ghost' }] }), fields: ['schedules.0.after.0.collection'] },
  { name: 'after-twice', category: 'schedule', attack: 'one dependency named twice', id: 'hostile-after', body: scheduleWith({ after: [{ batch: 'batch-a' }, { batch: 'batch-a' }] }), fields: ['schedules.0.after'] },
  { name: 'after-batch-traversal', category: 'schedule', attack: '"after" a batch id "../../etc/passwd"', id: 'hostile-after', body: scheduleWith({ after: [{ batch: '../../etc/passwd' }] }), fields: ['schedules.0.after.0.batch'] },
  { name: 'after-both-kinds', category: 'schedule', attack: 'one "after" entry naming a collection and a batch at once', id: 'hostile-after', body: scheduleWith({ after: [{ collection: 'rasters', batch: 'batch-a' }] }), fields: ['schedules.0.after.0'] },
  { name: 'schedule-many', category: 'schedule', attack: '11 schedules (at most 10)', id: 'hostile-schedules', body: json({ sources: source, schedules: Array.from({ length: 11 }, (_, i) => ({ name: `s${i}`, cron: '0 3 * * *' })) }), fields: ['schedules'] },
  { name: 'schedule-same-name', category: 'schedule', attack: 'two schedules of one name (one instance id)', id: 'hostile-schedules', body: json({ sources: source, schedules: [{ name: 'a', cron: '0 3 * * *' }, { name: 'a', cron: '0 4 * * *' }] }), fields: ['schedules.1.name'] },
  { name: 'schedule-name-colon', category: 'schedule', attack: 'a schedule name "x:y/../z" (its instance id is schedule:<collection>:<name>)', id: 'hostile-schedules', body: json({ sources: source, schedules: [{ name: 'x:y/../z', cron: '0 3 * * *' }] }), fields: ['schedules.0.name'] },
  { name: 'schedule-source-climb', category: 'schedule', attack: 'a schedule source "../cogs/"', id: 'hostile-schedules', body: scheduleWith({ source: '../cogs/' }), fields: ['schedules.0.source'] },
  { name: 'schedule-source-output', category: 'schedule', attack: 'a schedule source in the output container "cogs/"', id: 'hostile-schedules', body: scheduleWith({ source: 'cogs/' }), fields: ['schedules.0.source'] },
  // --- webhooks ----------------------------------------------------------------------------
  { name: 'webhook-metadata', category: 'webhook', attack: 'http://169.254.169.254/metadata/instance (on the allowlist on purpose)', id: 'hostile-hook', body: webhook('http://169.254.169.254/metadata/instance'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-metadata-https', category: 'webhook', attack: 'https://169.254.169.254/ (on the allowlist on purpose)', id: 'hostile-hook', body: webhook('https://169.254.169.254/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-metadata-hex', category: 'webhook', attack: 'https://0xA9FEA9FE/ (169.254.169.254 spelled in hex)', id: 'hostile-hook', body: webhook('https://0xA9FEA9FE/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-metadata-decimal', category: 'webhook', attack: 'http://2852039166/ (169.254.169.254 as one number)', id: 'hostile-hook', body: webhook('http://2852039166/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-metadata-mapped', category: 'webhook', attack: 'http://[::ffff:a9fe:a9fe]/ (IPv4-mapped IPv6)', id: 'hostile-hook', body: webhook('http://[::ffff:a9fe:a9fe]/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-loopback', category: 'webhook', attack: 'http://127.0.0.1:9/ (on the allowlist, loopback not allowed)', id: 'hostile-hook', body: webhook('http://127.0.0.1:9/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-localhost', category: 'webhook', attack: 'http://localhost:9/', id: 'hostile-hook', body: webhook('http://localhost:9/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-private-v6', category: 'webhook', attack: 'http://[fd00::1]/ (unique-local IPv6, on the allowlist)', id: 'hostile-hook', body: webhook('http://[fd00::1]/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-file', category: 'webhook', attack: 'file:///etc/passwd', id: 'hostile-hook', body: webhook('file:///etc/passwd'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-userinfo', category: 'webhook', attack: 'https://hooks.example.com@169.254.169.254/ (the allowed name as user info)', id: 'hostile-hook', body: webhook('https://hooks.example.com@169.254.169.254/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-not-allowed', category: 'webhook', attack: 'https://evil.example.net/ (not on the allowlist)', id: 'hostile-hook', body: webhook('https://evil.example.net/'), fields: ['notifications.webhooks.0.url'] },
  { name: 'webhook-gopher', category: 'webhook', attack: 'gopher://hooks.example.com/', id: 'hostile-hook', body: webhook('gopher://hooks.example.com/'), fields: ['notifications.webhooks.0.url'] },
  // --- gate areas --------------------------------------------------------------------------
  { name: 'area-out-of-range', category: 'gate area', attack: 'footprintWithin [-1000, 0, 1000, 10]', id: 'hostile-area', body: area([-1000, 0, 1000, 10]), fields: ['gates.footprintWithin.0', 'gates.footprintWithin.2'] },
  { name: 'area-huge-numbers', category: 'gate area', attack: 'footprintWithin [-1e308, -1e308, 1e308, 1e308]', id: 'hostile-area', body: area([-1e308, -1e308, 1e308, 1e308]), fields: ['gates.footprintWithin.0'] },
  { name: 'area-inverted', category: 'gate area', attack: 'footprintWithin west > east and south > north', id: 'hostile-area', body: area([10, 50, 5, 40]), fields: ['gates.footprintWithin'] },
  { name: 'area-empty', category: 'gate area', attack: 'footprintWithin of zero area', id: 'hostile-area', body: area([5, 5, 5, 5]), fields: ['gates.footprintWithin'] },
  { name: 'area-strings', category: 'gate area', attack: 'footprintWithin of strings', id: 'hostile-area', body: area(['0', '0', '1e3', 'NaN']), fields: ['gates.footprintWithin.0'] },
  { name: 'area-five-numbers', category: 'gate area', attack: 'footprintWithin of five numbers', id: 'hostile-area', body: area([0, 0, 1, 1, 2]), fields: ['gates.footprintWithin'] },
];

/**
 * Issue 24.6: definitions the API accepts (every field within its limits) whose text and size
 * attack the dashboard's workflow graph instead: markup and SVG-breaking text in titles and
 * prefixes, right-to-left overrides, names at their length limits, every list at its cap.
 * `test/unit/web.dag.test.ts` runs each through the graph builder and layout (labels bounded, no
 * bidirectional control left, the drawing bounded); `test/clients/dashboard.dag.test.ts` stores
 * each through the API and opens its page in Chromium (shown as text, nothing executed, one SVG,
 * the page not wider than a phone).
 */
export interface HostileDisplayDefinition {
  name: string;
  attack: string;
  id: string;
  definition: Record<string, unknown>;
  /** Text the page must show literally (as characters) somewhere in the graph or its panel. */
  shows: string[];
}

const rtlOverride = '\u202e';
const manySchedules = Array.from({ length: 10 }, (_, index) => ({
  name: `s${index}-${'n'.repeat(36)}`.slice(0, 40),
  cron: `${index * 5} 3 * * 1-5`,
  timeZone: 'Europe/Berlin',
  after: Array.from({ length: 10 }, (_, after) => ({ batch: `batch-${index}-${after}` })),
}));

export const hostileDisplayDefinitions: readonly HostileDisplayDefinition[] = [
  {
    name: 'display-script-title',
    attack: 'a title and description holding <script> and an <img onerror>, a prefix that opens an element',
    id: 'hostile-display-script',
    definition: {
      title: '<script>window.__dagPwned = 1</script>',
      description: '<img src=x onerror="window.__dagPwned = 2">',
      sources: [{ container: 'uploads', prefix: '<script>window.__dagPwned=3<' }, { container: 'uploads', prefix: '"><img src=x onerror=window.__dagPwned=4>/' }],
    },
    shows: ['uploads/<script>window', 'uploads/"><img src=x'],
  },
  {
    name: 'display-svg-break',
    attack: 'text that closes the SVG and its text element, with quotes: </text></svg><b>',
    id: 'hostile-display-svg',
    definition: {
      title: '"</text></svg><b id="dag-injected">bold</b>',
      description: '</svg></svg></svg><script>window.__dagPwned = 5</script>',
      sources: [{ container: 'uploads', prefix: '</svg><svg onload=x>/"quoted"/' }, { container: 'uploads', prefix: '"</text></svg>/' }],
    },
    shows: ['uploads/</svg><svg onload=x>', 'uploads/"</text></svg>/'],
  },
  {
    name: 'display-long-names',
    attack: 'a 200-character title, a 512-character prefix, a 40-character schedule name',
    id: 'hostile-display-long',
    definition: {
      title: 'T'.repeat(200),
      sources: [{ container: 'uploads', prefix: `${'p'.repeat(510)}/` }],
      schedules: [{ name: `l${'o'.repeat(38)}g`, cron: '0 3 * * *', timeZone: 'America/Argentina/Buenos_Aires' }],
    },
    shows: ['uploads/ppppp'],
  },
  {
    name: 'display-rtl-override',
    attack: 'right-to-left override characters in the title and a prefix (a name that reads "exe.pdf" while it is "fdp.exe")',
    id: 'hostile-display-rtl',
    definition: {
      title: `report${rtlOverride}fdp.exe`,
      sources: [{ container: 'uploads', prefix: `rtl/${rtlOverride}fdp.exe/` }, { container: 'uploads', prefix: 'mixed/\u2066isolate\u2069/\u200fmark/' }],
    },
    shows: ['uploads/rtl/\ufffdfdp.exe/'],
  },
  {
    name: 'display-every-cap',
    attack: 'every list at its cap: 20 sources, 10 schedules each waiting on 10 batches',
    id: 'hostile-display-many',
    definition: {
      sources: Array.from({ length: 20 }, (_, index) => ({ container: 'uploads', prefix: `many/${String(index).padStart(2, '0')}/` })),
      schedules: manySchedules,
    },
    shows: ['+12 more sources', '+90 more to wait on'],
  },
];
