/**
 * Ed25519 signing for the hub ↔ site protocol (node:crypto only).
 *
 * A site signs every request it makes: the signature covers the method, the path with
 * its query, a timestamp, a one-time nonce and the SHA-256 of the body, so a captured
 * request cannot be altered or replayed. The hub signs every task it hands out; the
 * site checks that signature against the hub key it pinned at registration.
 */

import type { KeyObject } from 'node:crypto';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { ItdaError } from './errors.ts';

export const SIGNATURE_HEADERS = {
  site: 'x-itda-site',
  timestamp: 'x-itda-timestamp',
  nonce: 'x-itda-nonce',
  signature: 'x-itda-signature',
} as const;

/** How far a request's timestamp may be from the hub's clock, either way. */
export const REQUEST_WINDOW_MS = 5 * 60 * 1000;

export interface SigningKeyPair {
  /** SPKI DER, base64 — the form sent over the wire and stored by the other side. */
  publicKey: string;
  /** PKCS#8 PEM — never leaves the machine that generated it. */
  privateKeyPem: string;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export function loadPrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ItdaError('bad_request', 'private key is not an Ed25519 key');
  return key;
}

export function publicKeyFromPrivate(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64');
}

export function parsePublicKey(base64Spki: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(base64Spki, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new ItdaError('bad_request', 'public key is not a base64 SPKI key');
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ItdaError('bad_request', 'public key is not an Ed25519 key');
  return key;
}

export function signString(privateKey: KeyObject, data: string): string {
  return sign(null, Buffer.from(data), privateKey).toString('base64url');
}

export function verifyString(publicKey: KeyObject | string, data: string, signature: string): boolean {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
  try {
    return verify(null, Buffer.from(data), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Short, stable fingerprint of a public key, for logs and for people comparing keys. */
export function keyFingerprint(base64Spki: string): string {
  return createHash('sha256').update(Buffer.from(base64Spki, 'base64')).digest('hex').slice(0, 16);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface RequestToSign {
  method: string;
  /** Path with query string, exactly as sent (e.g. `/api/sites/s1/tasks?wait=30`). */
  path: string;
  body: string;
  siteId: string;
  timestamp: string;
  nonce: string;
}

export function requestSigningString(r: RequestToSign): string {
  return [r.method.toUpperCase(), r.path, r.siteId, r.timestamp, r.nonce, sha256Hex(r.body)].join('\n');
}

/** Headers a site attaches to one request. */
export function signRequest(
  privateKey: KeyObject,
  request: { method: string; path: string; body?: string; siteId: string },
  now: Date = new Date(),
): Record<string, string> {
  const timestamp = now.toISOString();
  const nonce = randomBytes(16).toString('base64url');
  const signature = signString(
    privateKey,
    requestSigningString({ ...request, body: request.body ?? '', timestamp, nonce }),
  );
  return {
    [SIGNATURE_HEADERS.site]: request.siteId,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: signature,
  };
}

export interface SignedRequestParts {
  siteId: string;
  timestamp: string;
  nonce: string;
  signature: string;
}

/** Reads the signature headers; refuses a request that lacks any of them. */
export function readSignatureHeaders(
  headers: Record<string, string | string[] | undefined>,
): SignedRequestParts {
  const get = (name: string): string => {
    const v = headers[name];
    const value = Array.isArray(v) ? v[0] : v;
    if (!value) throw new ItdaError('unauthenticated', `request is not signed: header ${name} is missing`);
    return value;
  };
  return {
    siteId: get(SIGNATURE_HEADERS.site),
    timestamp: get(SIGNATURE_HEADERS.timestamp),
    nonce: get(SIGNATURE_HEADERS.nonce),
    signature: get(SIGNATURE_HEADERS.signature),
  };
}

/**
 * Checks signature and freshness. Replay (a nonce seen before) needs state and is the
 * caller's to check; this function refuses timestamps outside the window so the caller
 * only has to remember nonces for that long.
 */
export function verifySignedRequest(
  publicKey: KeyObject | string,
  parts: SignedRequestParts,
  request: { method: string; path: string; body: string },
  now: Date = new Date(),
): void {
  const at = Date.parse(parts.timestamp);
  if (Number.isNaN(at)) throw new ItdaError('bad_signature', 'signature timestamp is not a date');
  if (Math.abs(now.getTime() - at) > REQUEST_WINDOW_MS) {
    throw new ItdaError('replayed_request', 'request timestamp is outside the accepted window', {
      windowSeconds: REQUEST_WINDOW_MS / 1000,
    });
  }
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(parts.nonce)) throw new ItdaError('bad_signature', 'nonce is malformed');
  const data = requestSigningString({
    ...request,
    siteId: parts.siteId,
    timestamp: parts.timestamp,
    nonce: parts.nonce,
  });
  if (!verifyString(publicKey, data, parts.signature)) {
    throw new ItdaError('bad_signature', 'request signature does not verify');
  }
}

/** A value signed by the hub (tasks, later permits): the signature covers its canonical JSON. */
export interface Signed<T> {
  body: T;
  signature: string;
  /** Fingerprint of the signing key, so a verifier can say which key it expected. */
  keyId: string;
}

export function signValue<T>(privateKey: KeyObject, publicKey: string, body: T): Signed<T> {
  return { body, signature: signString(privateKey, canonicalJson(body)), keyId: keyFingerprint(publicKey) };
}

export function verifyValue<T>(publicKey: string, signed: Signed<T>): boolean {
  return verifyString(publicKey, canonicalJson(signed.body), signed.signature);
}
