import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';
import { ItdaError } from './errors.ts';
import {
  generateSigningKeyPair,
  loadPrivateKey,
  REQUEST_WINDOW_MS,
  readSignatureHeaders,
  signRequest,
  signValue,
  verifySignedRequest,
  verifyValue,
} from './signing.ts';

const site = generateSigningKeyPair();
const other = generateSigningKeyPair();
const request = {
  method: 'POST',
  path: '/api/tasks/x/result?a=1',
  body: '{"outcome":"done"}',
  siteId: 'site-1',
};

function headersFor(keyPem: string, now = new Date()) {
  return readSignatureHeaders(signRequest(loadPrivateKey(keyPem), request, now));
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof ItdaError ? error.code : 'not-itda-error';
  }
}

describe('request signatures', () => {
  it('accepts a good signature', () => {
    expect(
      codeOf(() => verifySignedRequest(site.publicKey, headersFor(site.privateKeyPem), request)),
    ).toBeUndefined();
  });

  it('refuses a tampered body, path or method', () => {
    const parts = headersFor(site.privateKeyPem);
    expect(
      codeOf(() => verifySignedRequest(site.publicKey, parts, { ...request, body: '{"outcome":"failed"}' })),
    ).toBe('bad_signature');
    expect(
      codeOf(() => verifySignedRequest(site.publicKey, parts, { ...request, path: '/api/tasks/y/result' })),
    ).toBe('bad_signature');
    expect(codeOf(() => verifySignedRequest(site.publicKey, parts, { ...request, method: 'GET' }))).toBe(
      'bad_signature',
    );
  });

  it('refuses a signature by another key (unknown key)', () => {
    expect(codeOf(() => verifySignedRequest(site.publicKey, headersFor(other.privateKeyPem), request))).toBe(
      'bad_signature',
    );
  });

  it('refuses a request from outside the time window (replay of an old capture)', () => {
    const old = new Date(Date.now() - REQUEST_WINDOW_MS - 1000);
    expect(
      codeOf(() => verifySignedRequest(site.publicKey, headersFor(site.privateKeyPem, old), request)),
    ).toBe('replayed_request');
  });

  it('refuses a forged site id header', () => {
    const parts = { ...headersFor(site.privateKeyPem), siteId: 'site-2' };
    expect(codeOf(() => verifySignedRequest(site.publicKey, parts, request))).toBe('bad_signature');
  });

  it('names the missing header of an unsigned request', () => {
    expect(() => readSignatureHeaders({})).toThrow(/x-itda-site/);
  });
});

describe('signed values', () => {
  it('verifies regardless of key order and rejects any change', () => {
    const signed = signValue(loadPrivateKey(site.privateKeyPem), site.publicKey, {
      b: 1,
      a: { y: [1, 2], x: 'k' },
    });
    expect(verifyValue(site.publicKey, { ...signed, body: { a: { x: 'k', y: [1, 2] }, b: 1 } })).toBe(true);
    expect(verifyValue(site.publicKey, { ...signed, body: { a: { x: 'k', y: [1, 3] }, b: 1 } })).toBe(false);
    expect(verifyValue(other.publicKey, signed)).toBe(false);
  });

  it('canonical JSON sorts keys deeply and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [{ z: 1, y: 2 }] } })).toBe(
      '{"a":{"c":[{"y":2,"z":1}]},"b":1}',
    );
  });
});
