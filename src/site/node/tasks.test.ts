import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, loadPrivateKey, signValue } from '../../protocol/signing.ts';
import type { SignedTask, TaskBody } from '../../protocol/wire.ts';
import { pingHandler, runTask } from './tasks.ts';

const hub = generateSigningKeyPair();
const rogue = generateSigningKeyPair();

function task(overrides: Partial<TaskBody> = {}): TaskBody {
  const now = Date.now();
  return {
    type: 'ping',
    payload: { message: 'hi' },
    id: randomUUID(),
    siteId: 'site-1',
    permitId: null,
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 60_000).toISOString(),
    ...overrides,
  } as TaskBody;
}

function sign(body: TaskBody, pair = hub): SignedTask {
  return signValue(loadPrivateKey(pair.privateKeyPem), pair.publicKey, body) as SignedTask;
}

const options = { hubPublicKey: hub.publicKey, siteId: 'site-1', handlers: { ping: pingHandler } };

describe('site task verification', () => {
  it('runs a task signed by the pinned hub key', async () => {
    const { result } = await runTask(sign(task()), options);
    expect(result).toMatchObject({ outcome: 'done', result: { pong: true, message: 'hi' } });
  });

  it('refuses a task signed by another key, even when it claims the hub key id', async () => {
    const forged = { ...sign(task(), rogue), keyId: sign(task()).keyId };
    const { result } = await runTask(forged, options);
    expect(result).toMatchObject({ outcome: 'refused', error: { code: 'bad_signature' } });
  });

  it('refuses a task whose body was changed after signing', async () => {
    const signed = sign(task());
    const tampered = { ...signed, body: { ...signed.body, payload: { message: 'changed' } } } as SignedTask;
    expect((await runTask(tampered, options)).result).toMatchObject({
      outcome: 'refused',
      error: { code: 'bad_signature' },
    });
  });

  it('refuses a task addressed to another site', async () => {
    const { result } = await runTask(sign(task({ siteId: 'site-2' })), options);
    expect(result).toMatchObject({ outcome: 'refused', error: { code: 'forbidden' } });
  });

  it('refuses an expired task', async () => {
    const { result } = await runTask(
      sign(task({ expiresAt: new Date(Date.now() - 1000).toISOString() })),
      options,
    );
    expect(result).toMatchObject({ outcome: 'refused', error: { code: 'permit_expired' } });
  });

  it('refuses a task type it has no handler for', async () => {
    const { result } = await runTask(sign(task()), { ...options, handlers: {} });
    expect(result).toMatchObject({ outcome: 'refused', error: { code: 'unsupported' } });
  });
});
