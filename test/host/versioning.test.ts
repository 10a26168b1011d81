import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { compareVersions, readVersioning, versionMismatch } from '../../host/engine/versioning.js';
import { json, projectRoot, startHostProcess, waitForStatus, type HostProcess } from './support/host.process.js';

/**
 * Orchestration versioning (issue 12): a deploy while jobs run must not break in-flight
 * orchestrations. The fixture app exists in two releases (test/host/fixtures/versioning-v1, -v2)
 * with host.json defaultVersion 1.0 and 2.0; an "upgrade" restarts the host on the next release.
 */
const releases = {
  v1: join(projectRoot, 'test/host/fixtures/versioning-v1'),
  v2: join(projectRoot, 'test/host/fixtures/versioning-v2'),
  /** The 1.0 code with versionFailureStrategy Fail. */
  v1Fail: join(projectRoot, 'test/host/fixtures/versioning-v1-fail'),
};

describe('version rules (as Microsoft documents them)', () => {
  it('compare empty as oldest, System.Version strings numerically, anything else as case-insensitive text', () => {
    expect(compareVersions('', '')).toBe(0);
    expect(compareVersions('', '1.0')).toBe(-1);
    expect(compareVersions('1.0', '')).toBe(1);
    expect(compareVersions('1.10', '1.9')).toBe(1);
    expect(compareVersions('2.0', '10.0')).toBe(-1);
    expect(compareVersions('1.0', '1.0.0')).toBe(-1);
    expect(compareVersions('2025-01-01', '2025-02-01')).toBe(-1);
    expect(compareVersions('V1-release', 'v1-RELEASE')).toBe(0);
  });

  it('default to CurrentOrOlder and Reject, read enum names case-insensitively, and refuse unknown ones', () => {
    expect(readVersioning(undefined)).toEqual({ defaultVersion: '', matchStrategy: 'CurrentOrOlder', failureStrategy: 'Reject' });
    expect(readVersioning({ defaultVersion: '1.0', versionMatchStrategy: 'strict', versionFailureStrategy: 'fail' })).toEqual({ defaultVersion: '1.0', matchStrategy: 'Strict', failureStrategy: 'Fail' });
    expect(() => readVersioning({ versionMatchStrategy: 'Newest' })).toThrow('versionMatchStrategy "Newest" is not one of None, Strict, CurrentOrOlder');
  });

  it('run older and equal versions under CurrentOrOlder, only equal ones under Strict, all under None or without a defaultVersion', () => {
    const currentOrOlder = readVersioning({ defaultVersion: '2.0' });
    expect(versionMismatch('1.0', currentOrOlder)).toBeUndefined();
    expect(versionMismatch('', currentOrOlder)).toBeUndefined();
    expect(versionMismatch('2.0', currentOrOlder)).toBeUndefined();
    expect(versionMismatch('3.0', currentOrOlder)).toBe('its version "3.0" is newer than this app\'s defaultVersion "2.0" (versionMatchStrategy CurrentOrOlder)');
    const strict = readVersioning({ defaultVersion: '2.0', versionMatchStrategy: 'Strict' });
    expect(versionMismatch('1.0', strict)).toMatch(/is not this app's defaultVersion/);
    expect(versionMismatch('2.0', strict)).toBeUndefined();
    expect(versionMismatch('9.0', readVersioning({ defaultVersion: '2.0', versionMatchStrategy: 'None' }))).toBeUndefined();
    expect(versionMismatch('9.0', readVersioning({}))).toBeUndefined();
  });
});

describe('an upgrade while orchestrations run, on the local host', () => {
  const hosts: HostProcess[] = [];
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop();
  });
  const hub = `Versioning${Date.now() % 1e8}`;
  const run = async (release: keyof typeof releases): Promise<HostProcess> => {
    const host = await startHostProcess({ storage: inject('storageConnectionString'), hub, appRoot: releases[release] });
    hosts.push(host);
    return host;
  };
  const start = async (host: HostProcess): Promise<string> => {
    const response = await fetch(`${host.url}/runtime/webhooks/durabletask/orchestrators/publishFlow`, { method: 'POST' });
    expect(response.status).toBe(202);
    const id = ((await response.json()) as { id: string }).id;
    await waitForStatus(host.url, id, (s) => s['customStatus'] === 'awaiting approval');
    return id;
  };
  const approve = async (host: HostProcess, id: string, by: string): Promise<void> => {
    const response = await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}/raiseEvent/approve`, { method: 'POST', body: JSON.stringify(by), headers: { 'Content-Type': 'application/json' } });
    expect(response.status).toBe(202);
  };

  it('finishes an instance started under 1.0 on the 2.0 code, which new instances run', async () => {
    let host = await run('v1');
    const old = await start(host);
    await host.stop();

    host = await run('v2');
    const fresh = await start(host);
    await approve(host, old, 'approved before the upgrade');
    await approve(host, fresh, 'approved after the upgrade');
    const oldStatus = await waitForStatus(host.url, old);
    expect(oldStatus).toMatchObject({ runtimeStatus: 'Completed', output: { version: '1.0', steps: ['validate done', 'approved before the upgrade', 'publish done'] } });
    const freshStatus = await waitForStatus(host.url, fresh);
    expect(freshStatus).toMatchObject({
      runtimeStatus: 'Completed',
      output: { version: '2.0', steps: ['validate done', 'scan done', 'approved after the upgrade', 'publish to the new catalog done'] },
    });
  });

  it('leaves a 2.0 instance alone after a rollback to 1.0 (its events kept), and the next 2.0 host finishes it', async () => {
    let host = await run('v2');
    const newer = await start(host);
    await host.stop();

    host = await run('v1');
    await approve(host, newer, 'approved during the rollback');
    // An instance the 1.0 host may run goes through in the meantime.
    const current = await start(host);
    await approve(host, current, 'approved on 1.0');
    expect((await waitForStatus(host.url, current))['output']).toEqual({ version: '1.0', steps: ['validate done', 'approved on 1.0', 'publish done'] });
    expect(host.output()).toContain(
      `WARNING: instance ${newer} (publishFlow) is not run by this host: its version "2.0" is newer than this app's defaultVersion "1.0" (versionMatchStrategy CurrentOrOlder)`,
    );
    expect(await json(fetch(`${host.url}/runtime/webhooks/durabletask/instances/${newer}`))).toMatchObject({ runtimeStatus: 'Running', customStatus: 'awaiting approval' });
    await host.stop();

    host = await run('v2');
    expect(await waitForStatus(host.url, newer)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { version: '2.0', steps: ['validate done', 'scan done', 'approved during the rollback', 'publish to the new catalog done'] },
    });
  });

  it('fails a 2.0 instance on a 1.0 host whose versionFailureStrategy is Fail', async () => {
    let host = await run('v2');
    const newer = await start(host);
    await host.stop();
    host = await run('v1Fail');
    // As in Azure, the check runs when the instance has work: here, its event.
    await approve(host, newer, 'approved on the wrong release');
    const status = await waitForStatus(host.url, newer);
    expect(status['runtimeStatus']).toBe('Failed');
    expect(String(status['output'])).toContain('its version "2.0" is newer than this app\'s defaultVersion "1.0" (versionMatchStrategy CurrentOrOlder); versionFailureStrategy is Fail');
  });
});
