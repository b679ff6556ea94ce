import { describe, expect, it } from 'vitest';
import { type AuditEntry, chainEntry, verifyChain } from './audit-chain.ts';
import { generateSigningKeyPair, loadPrivateKey } from './signing.ts';

const keys = generateSigningKeyPair();
const other = generateSigningKeyPair();
const key = loadPrivateKey(keys.privateKeyPem);

function chain(n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(
      chainEntry(
        entries.at(-1),
        {
          actorType: 'user',
          actorId: `u${i}`,
          action: 'application.submit',
          targetType: 'application',
          targetId: `a${i}`,
          details: { i },
        },
        key,
      ),
    );
  }
  return entries;
}

describe('audit hash chain', () => {
  it('verifies an untouched chain and reports its head', () => {
    const entries = chain(5);
    expect(verifyChain(entries, keys.publicKey)).toEqual({
      ok: true,
      entries: 5,
      headHash: entries[4]!.hash,
    });
  });

  it.each([0, 2, 4])('names an edited entry at position %i', (position) => {
    const entries = chain(5);
    entries[position] = { ...entries[position]!, details: { i: 99 } };
    expect(verifyChain(entries, keys.publicKey)).toMatchObject({
      ok: false,
      firstBadSeq: position + 1,
      position,
    });
  });

  it('names the entry after a removed one', () => {
    const entries = chain(5);
    entries.splice(2, 1);
    expect(verifyChain(entries, keys.publicKey)).toMatchObject({ ok: false, position: 2, firstBadSeq: 4 });
  });

  it('detects two swapped entries', () => {
    const entries = chain(5);
    [entries[1], entries[2]] = [entries[2]!, entries[1]!];
    expect(verifyChain(entries, keys.publicKey)).toMatchObject({ ok: false, position: 1 });
  });

  it('detects an edited entry whose hash was recomputed but not re-signed', () => {
    const entries = chain(3);
    const original = entries[1]!;
    entries[1] = chainEntry(
      entries[0],
      { ...original, details: { i: 7 } },
      loadPrivateKey(other.privateKeyPem),
      new Date(original.at),
    );
    const verdict = verifyChain(entries, keys.publicKey);
    expect(verdict).toMatchObject({ ok: false, position: 1, reason: expect.stringMatching(/signature/) });
  });
});
