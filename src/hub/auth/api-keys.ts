/**
 * API keys for scripts: `itda_<id>_<secret>`, where the id names the key and the secret
 * is 32 random bytes. Only the secret's SHA-256 is stored (a high-entropy secret needs no
 * slow hash); the full key is shown once, at creation. Keys carry scopes, may expire,
 * and are revoked by their owner.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { API_SCOPES, type ApiKeyView, type ApiScope } from '../../protocol/auth.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/signing.ts';
import { audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import { hasRole, type PublicUser, userView } from './service.ts';
import {
  type ApiKeyRow,
  findApiKey,
  findUserWithSiteRoles,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  touchApiKey,
} from './store.ts';

const KEY_PATTERN = /^itda_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** last_used_at is written at most this often per key, so busy scripts do not write on every call. */
const TOUCH_EVERY_MS = 60_000;

function isScope(value: string): value is ApiScope {
  return (API_SCOPES as readonly string[]).includes(value);
}

export function apiKeyView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes.filter(isScope),
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

export async function createApiKey(
  ctx: HubContext,
  owner: PublicUser,
  input: { name: string; scopes: ApiScope[]; expiresAt?: Date | null },
): Promise<{ key: ApiKeyView; token: string }> {
  if (input.scopes.length === 0) throw new ItdaError('validation_failed', 'scopes: name at least one');
  if (input.scopes.includes('admin') && !hasRole(owner, 'admin'))
    throw new ItdaError('forbidden', 'only an admin can create a key with the admin scope');
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now())
    throw new ItdaError('validation_failed', 'expiresAt: must be in the future');
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const row = await ctx.db.transaction().execute(async (trx) => {
    const inserted = await insertApiKey(trx, {
      id,
      userId: owner.id,
      name: input.name,
      secretHash: sha256Hex(secret),
      scopes: [...new Set(input.scopes)],
      expiresAt: input.expiresAt ?? null,
    });
    await audit(
      ctx,
      {
        actorType: 'user',
        actorId: owner.id,
        action: 'auth.api_key_created',
        targetType: 'api_key',
        targetId: id,
        details: { scopes: inserted.scopes, expiresAt: inserted.expires_at?.toISOString() ?? null },
      },
      trx,
    );
    return inserted;
  });
  return { key: apiKeyView(row), token: `itda_${id}_${secret}` };
}

export async function listOwnApiKeys(ctx: HubContext, owner: PublicUser): Promise<ApiKeyView[]> {
  return (await listApiKeys(ctx.db, owner.id)).map(apiKeyView);
}

/** Revokes one of the owner's keys; another user's key is "not found", never revealed. */
export async function revokeOwnApiKey(ctx: HubContext, owner: PublicUser, id: string): Promise<ApiKeyView> {
  return ctx.db.transaction().execute(async (trx) => {
    const row = await revokeApiKey(trx, id, owner.id, new Date());
    if (!row) throw new ItdaError('not_found', `no API key ${id}`);
    await audit(
      ctx,
      {
        actorType: 'user',
        actorId: owner.id,
        action: 'auth.api_key_revoked',
        targetType: 'api_key',
        targetId: id,
      },
      trx,
    );
    return apiKeyView(row);
  });
}

/** The active owner and the key, or `unauthenticated` for any malformed, unknown, revoked or expired key. */
export async function authenticateApiKey(
  ctx: HubContext,
  token: string,
): Promise<{ user: PublicUser; key: ApiKeyView }> {
  const match = KEY_PATTERN.exec(token);
  const refused = new ItdaError('unauthenticated', 'API key is not valid');
  if (!match) throw refused;
  const row = await findApiKey(ctx.db, match[1]!);
  if (!row) throw refused;
  const expected = Buffer.from(row.secret_hash, 'hex');
  const actual = Buffer.from(sha256Hex(match[2]!), 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw refused;
  const now = new Date();
  if (row.revoked_at) throw new ItdaError('unauthenticated', 'API key has been revoked');
  if (row.expires_at && row.expires_at <= now) throw new ItdaError('unauthenticated', 'API key has expired');
  const owner = await findUserWithSiteRoles(ctx.db, row.user_id);
  if (!owner?.active) throw refused;
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > TOUCH_EVERY_MS)
    await touchApiKey(ctx.db, row.id, now);
  return { user: userView(owner, owner.site_roles), key: apiKeyView(row) };
}
