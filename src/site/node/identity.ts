/**
 * The site's identity on disk: its Ed25519 private key (mode 0600, created on first
 * start) and the hub key it pinned at registration.
 */
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ItdaError } from '../../protocol/errors.ts';
import { generateSigningKeyPair, loadPrivateKey, publicKeyFromPrivate } from '../../protocol/signing.ts';

export interface SiteIdentity {
  privateKey: KeyObject;
  publicKey: string;
}

export const SITE_KEY_FILE = 'site-key.pem';
const PINNED_HUB_KEY_FILE = 'hub-key.pub';

export async function loadOrCreateSiteIdentity(dir: string): Promise<SiteIdentity> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, SITE_KEY_FILE);
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
    const mode = (await fs.stat(file)).mode & 0o777;
    if (mode & 0o077)
      throw new ItdaError(
        'forbidden',
        `${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`,
      );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    pem = generateSigningKeyPair().privateKeyPem;
    await fs.writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  }
  const privateKey = loadPrivateKey(pem);
  return { privateKey, publicKey: publicKeyFromPrivate(privateKey) };
}

export async function readPinnedHubKey(dir: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(dir, PINNED_HUB_KEY_FILE), 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function pinHubKey(dir: string, publicKey: string): Promise<void> {
  await fs.writeFile(path.join(dir, PINNED_HUB_KEY_FILE), `${publicKey}\n`);
}
