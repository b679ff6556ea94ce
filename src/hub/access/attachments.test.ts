import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/hub.ts';
import { sha256Hex } from '../../protocol/signing.ts';
import { readAttachmentBytes, storeAttachmentBytes } from './attachments.ts';

describe('attachment storage', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('stores the same file uploaded many times at once, and reads it back intact', async () => {
    dir = await tempDir('itda-attachments-');
    const bytes = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n');
    const sha256 = sha256Hex(bytes);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => storeAttachmentBytes(dir!, sha256, bytes)),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(Buffer.compare(await readAttachmentBytes(dir, sha256), bytes)).toBe(0);
    const leftovers = (await fs.readdir(dir, { recursive: true })).filter((f) => String(f).endsWith('.tmp'));
    expect(leftovers).toEqual([]);
  });
});
