/**
 * Application attachments (IRB approval letters, data management plans): what may be
 * uploaded, recognised by its first bytes rather than by what the client claims, and
 * where it is kept — under the hub data directory, named by its SHA-256.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ItdaError } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/signing.ts';

export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;

export const ATTACHMENT_TYPES = {
  'application/pdf': 'PDF',
  'image/png': 'PNG',
  'image/jpeg': 'JPEG',
  'text/plain': 'plain text',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
} as const;
export type AttachmentMediaType = keyof typeof ATTACHMENT_TYPES;

const startsWith = (bytes: Uint8Array, signature: readonly number[]) =>
  bytes.length >= signature.length && signature.every((b, i) => bytes[i] === b);

/** The type the bytes are (magic numbers), or undefined when none of the allowed ones. */
export function detectMediaType(bytes: Uint8Array): AttachmentMediaType | undefined {
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d])) return 'application/pdf'; // %PDF-
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) {
    // A DOCX is a ZIP (ECMA-376 OPC) whose parts include word/document.xml.
    const names = Buffer.from(bytes).toString('latin1');
    return names.includes('[Content_Types].xml') && names.includes('word/')
      ? 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
      : undefined;
  }
  if (bytes.includes(0)) return undefined;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return 'text/plain';
  } catch {
    return undefined;
  }
}

/** Checks an upload; returns its media type and SHA-256 or throws naming what is wrong. */
export function checkUpload(
  bytes: Uint8Array,
  declared: string,
): { mediaType: AttachmentMediaType; sha256: string } {
  if (bytes.length === 0) throw new ItdaError('validation_failed', 'the upload is empty');
  if (bytes.length > MAX_ATTACHMENT_BYTES)
    throw new ItdaError(
      'payload_too_large',
      `the upload is ${bytes.length} bytes; at most ${MAX_ATTACHMENT_BYTES} (20 MB) are accepted`,
    );
  const allowed = Object.entries(ATTACHMENT_TYPES)
    .map(([type, name]) => `${name} (${type})`)
    .join(', ');
  const claimed = declared.split(';')[0]!.trim().toLowerCase();
  if (!(claimed in ATTACHMENT_TYPES))
    throw new ItdaError(
      'unsupported',
      `content type ${claimed || '(none)'} is not accepted; allowed: ${allowed}`,
    );
  const detected = detectMediaType(bytes);
  if (!detected)
    throw new ItdaError('unsupported', `the file is none of the accepted types (${allowed}) by its content`);
  if (detected !== claimed)
    throw new ItdaError(
      'validation_failed',
      `the file is sent as ${claimed} but its content is ${ATTACHMENT_TYPES[detected]}`,
    );
  return { mediaType: detected, sha256: sha256Hex(bytes) };
}

function attachmentPath(dataDir: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ItdaError('internal', 'attachment checksum is malformed');
  return path.join(dataDir, 'attachments', sha256.slice(0, 2), sha256);
}

/** Stores the bytes by checksum (the same file uploaded twice is kept once). */
export async function storeAttachmentBytes(
  dataDir: string,
  sha256: string,
  bytes: Uint8Array,
): Promise<void> {
  const file = attachmentPath(dataDir, sha256);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Uploads of the same file at the same moment each write their own temporary file.
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await fs.writeFile(temp, bytes, { mode: 0o600 });
  await fs.rename(temp, file);
}

/** Reads the bytes back and refuses them when they no longer match their checksum. */
export async function readAttachmentBytes(dataDir: string, sha256: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(attachmentPath(dataDir, sha256));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ItdaError(
        'not_found',
        `the attachment's file (${sha256.slice(0, 12)}…) is missing from the hub`,
      );
    throw error;
  }
  if (sha256Hex(bytes) !== sha256)
    throw new ItdaError(
      'internal',
      `the attachment's file (${sha256.slice(0, 12)}…) does not match its checksum`,
    );
  return bytes;
}
