import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cohortHash, type PermitBody, type SignedPermit } from '../../protocol/access.ts';
import { generateSigningKeyPair, loadPrivateKey, signValue } from '../../protocol/signing.ts';
import type { SignedTask, TaskBody } from '../../protocol/wire.ts';
import { REVOKED_PERMITS_FILE, RevocationList } from './permits.ts';
import { runTask } from './tasks.ts';

const hub = generateSigningKeyPair();
const rogue = generateSigningKeyPair();
const COHORT = { ConceptSets: [], PrimaryCriteria: { CriteriaList: [] } };
const HOUR = 3_600_000;

function permitBody(overrides: Partial<PermitBody> = {}): PermitBody {
  const now = Date.now();
  return {
    kind: 'itda-permit/1',
    permitId: randomUUID(),
    applicationId: randomUUID(),
    researchers: [randomUUID()],
    sites: ['site-1', 'site-2'],
    datasets: ['ds-1'],
    cohortHash: cohortHash(COHORT),
    allowedAnalyses: ['cohort_count'],
    analysisMode: 'federated_analysis',
    conditions: [],
    issuedAt: new Date(now).toISOString(),
    notBefore: new Date(now - HOUR).toISOString(),
    notAfter: new Date(now + HOUR).toISOString(),
    ...overrides,
  };
}

const signWith = <T>(body: T, pair = hub) =>
  signValue(loadPrivateKey(pair.privateKeyPem), pair.publicKey, body);

function countTask(permit: SignedPermit | undefined, overrides: Partial<TaskBody> = {}): SignedTask {
  const now = Date.now();
  const body = {
    type: 'cohort_count',
    payload: { cohort: COHORT },
    id: randomUUID(),
    siteId: 'site-1',
    permitId: permit?.body.permitId ?? null,
    ...(permit ? { permit } : {}),
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 60_000).toISOString(),
    ...overrides,
  } as TaskBody;
  return signWith(body) as SignedTask;
}

const counted = { n: 0 };
const options = (revoked: string[] = []) => ({
  hubPublicKey: hub.publicKey,
  siteId: 'site-1',
  isPermitRevoked: (id: string) => revoked.includes(id),
  handlers: {
    cohort_count: async () => {
      counted.n += 1;
      return { ok: true };
    },
  },
});

async function outcome(task: SignedTask, revoked: string[] = []) {
  return (await runTask(task, options(revoked))).result;
}

describe('permit checks at the site', () => {
  it('runs a task under a valid permit that names this site, the task type and the cohort', async () => {
    const before = counted.n;
    expect(await outcome(countTask(signWith(permitBody())))).toMatchObject({ outcome: 'done' });
    expect(counted.n).toBe(before + 1);
  });

  it('refuses a permitted task type without a permit', async () => {
    expect(await outcome(countTask(undefined))).toMatchObject({
      outcome: 'refused',
      error: { code: 'permit_invalid', message: expect.stringMatching(/only under a permit/) },
    });
  });

  it('refuses a task that names a permit but carries none, or carries another', async () => {
    const permit = signWith(permitBody());
    const { permit: _dropped, ...withoutPermit } = countTask(permit).body;
    expect(await outcome(signWith(withoutPermit as TaskBody) as SignedTask)).toMatchObject({
      error: { code: 'permit_invalid', message: expect.stringMatching(/carries none/) },
    });
    expect(await outcome(countTask(permit, { permitId: randomUUID() }))).toMatchObject({
      error: { code: 'permit_invalid', message: expect.stringMatching(/but carries/) },
    });
  });

  it('refuses a permit signed by another key (forged), even with the hub key id', async () => {
    const forged = { ...signWith(permitBody(), rogue), keyId: signWith(permitBody()).keyId };
    expect(await outcome(countTask(forged))).toMatchObject({
      error: { code: 'permit_invalid', message: expect.stringMatching(/signature/) },
    });
  });

  it('refuses a permit whose body was changed after signing', async () => {
    const permit = signWith(permitBody({ sites: ['site-2'] }));
    const widened = { ...permit, body: { ...permit.body, sites: ['site-1', 'site-2'] } };
    expect(await outcome(countTask(widened))).toMatchObject({ error: { code: 'permit_invalid' } });
  });

  it('refuses a permit for other sites', async () => {
    expect(await outcome(countTask(signWith(permitBody({ sites: ['site-2'] }))))).toMatchObject({
      error: { code: 'permit_invalid', message: expect.stringMatching(/does not name site site-1/) },
    });
  });

  it('refuses an expired permit and one not yet valid', async () => {
    const expired = permitBody({ notAfter: new Date(Date.now() - 1000).toISOString() });
    expect(await outcome(countTask(signWith(expired)))).toMatchObject({ error: { code: 'permit_expired' } });
    const early = permitBody({ notBefore: new Date(Date.now() + HOUR).toISOString() });
    expect(await outcome(countTask(signWith(early)))).toMatchObject({
      error: { code: 'permit_invalid', message: expect.stringMatching(/not valid before/) },
    });
  });

  it('refuses a revoked permit', async () => {
    const permit = signWith(permitBody());
    expect(await outcome(countTask(permit), [permit.body.permitId])).toMatchObject({
      error: { code: 'permit_invalid', message: expect.stringMatching(/revoked/) },
    });
  });

  it('refuses a task type the permit does not allow', async () => {
    const permit = signWith(permitBody({ allowedAnalyses: ['glm'] }));
    expect(await outcome(countTask(permit))).toMatchObject({
      error: { code: 'permit_invalid', message: expect.stringMatching(/not cohort_count/) },
    });
  });

  it('refuses a cohort other than the one the permit allows', async () => {
    const permit = signWith(permitBody());
    const other = countTask(permit, {
      payload: { cohort: { ...COHORT, Title: 'another' } },
    } as Partial<TaskBody>);
    expect(await outcome(other)).toMatchObject({
      error: { code: 'permit_invalid', message: expect.stringMatching(/cohort/) },
    });
  });
});

describe('the revocation list', () => {
  it('keeps revoked ids across restarts', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'itda-revoked-'));
    try {
      const list = await RevocationList.open(dir);
      expect(list.has('p1')).toBe(false);
      expect(await list.add(['p1', 'p2'])).toBe(2);
      expect(await list.add(['p2'])).toBe(0);
      const reopened = await RevocationList.open(dir);
      expect([reopened.has('p1'), reopened.has('p2'), reopened.has('p3')]).toEqual([true, true, false]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('sets an unreadable file aside and refuses every permit until the hub’s list arrives', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'itda-revoked-'));
    try {
      await fs.writeFile(path.join(dir, REVOKED_PERMITS_FILE), '{not json');
      const warnings: string[] = [];
      const list = await RevocationList.open(dir, (m) => warnings.push(m));
      expect(warnings[0]).toMatch(/not a JSON array.*moved to/);
      expect(list.has('anything')).toBe(true);
      await list.add(['p9']);
      expect([list.has('anything'), list.has('p9')]).toEqual([false, true]);
      expect((await fs.readdir(dir)).some((f) => f.includes('.corrupt-'))).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
