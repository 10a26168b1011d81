/**
 * What each orchestration version schedules (host.json `defaultVersion`; docs/deploy.md,
 * "Deploying while jobs run"). An instance keeps the version it started with, so a step added
 * later is taken only by instances of a version that has it, and older ones replay unchanged.
 */

/** Instances started before the collection mosaic existed (version 1.0) never schedule it. */
export function buildsCollectionMosaic(version: string | undefined): boolean {
  return version !== '1.0';
}
