/**
 * The hub's Ed25519 key: signs every task (and later every permit and audit entry).
 * Kept as a PEM file in the data directory, readable by the hub's user only.
 */

import type { KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  generateSigningKeyPair,
  keyFingerprint,
  loadPrivateKey,
  publicKeyFromPrivate,
} from '../protocol/signing.ts';

export interface HubKeys {
  privateKey: KeyObject;
  publicKey: string;
  keyId: string;
}

export async function loadOrCreateHubKeys(dataDir: string): Promise<HubKeys> {
  const file = path.join(dataDir, 'hub-key.pem');
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await fs.mkdir(dataDir, { recursive: true });
    pem = generateSigningKeyPair().privateKeyPem;
    await fs.writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  }
  const privateKey = loadPrivateKey(pem);
  const publicKey = publicKeyFromPrivate(privateKey);
  return { privateKey, publicKey, keyId: keyFingerprint(publicKey) };
}
