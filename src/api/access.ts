/**
 * Who may call which HTTP route: the one table of app roles per route, read by the app (enforced in
 * src/functions/http.access.ts from Easy Auth's `x-ms-client-principal`), by the dashboard and the
 * CLI (to offer only what the signed-in role allows), and by the tests (a 401 and a 403 for every
 * route in it). A route missing here does not compile (`httpRoute` takes only these names).
 *
 * Roles are the app roles of the API's Entra ID app registration (infra/hooks/preprovision.mjs
 * creates them), nested: an operator may do what a reader may, an admin what an operator may.
 */
export const appRoles = ['reader', 'operator', 'admin'] as const;
export type AppRole = (typeof appRoles)[number];

/** `public`: no data behind it (the dashboard's static files); everything else needs a role. */
export type RouteAccess = AppRole | 'public';

export const routeAccess = {
  // views
  listJobs: 'reader',
  getJob: 'reader',
  getJobStatus: 'reader',
  getJobTiles: 'reader',
  listBatches: 'reader',
  getBatch: 'reader',
  getBatchStatus: 'reader',
  readCogsBlob: 'reader',
  getOpenApi: 'reader',
  listCollections: 'reader',
  getCollection: 'reader',
  getCollectionSchedules: 'reader',
  // work: submit, retry (one job or in bulk)
  submitJob: 'operator',
  retryJob: 'operator',
  retryJobs: 'operator',
  submitBatch: 'operator',
  // a quarantined job's decision: publish its kept outputs, or delete them
  approveJob: 'operator',
  rejectJob: 'operator',
  // collection definitions (their workflows)
  putCollection: 'admin',
  // the dashboard's HTML, scripts and styles (its data comes from the routes above)
  dashboard: 'public',
} as const satisfies Record<string, RouteAccess>;

export type HttpFunctionName = keyof typeof routeAccess;

/** Roles that include `role` (admin includes operator includes reader). */
export function rolesGranting(role: AppRole): AppRole[] {
  return appRoles.slice(appRoles.indexOf(role));
}

/** Whether a caller holding `roles` (role names as the token carries them) may call a route that needs `access`. */
export function mayCall(roles: readonly string[], access: RouteAccess): boolean {
  if (access === 'public') return true;
  return rolesGranting(access).some((role) => roles.includes(role));
}

/** The highest app role among `roles`, if any (for showing who is signed in). */
export function highestRole(roles: readonly string[]): AppRole | undefined {
  return [...appRoles].reverse().find((role) => roles.includes(role));
}
