/**
 * Accounts and sessions. Passwords are hashed with argon2id (OWASP's recommended
 * parameters); a session is a random token whose SHA-256 alone is stored, and so is its
 * CSRF token (double-submit, bound to the session).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Kysely } from 'kysely';
import { ROLES, type Role, type SiteRole, type SiteRoleName } from '../../protocol/auth.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/signing.ts';
import { audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { checkLoginRate, recordFailedLogin, recordSuccessfulLogin } from './rate-limit.ts';
import {
  deleteSession,
  findSessionUser,
  findUserByEmail,
  insertSession,
  insertUser,
  siteRolesOf,
  type UserRow,
} from './store.ts';

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
// argon2id, m = 19 MiB, t = 2, p = 1 (OWASP Password Storage Cheat Sheet).
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
// Verifying against this keeps the time of "no such user" equal to "wrong password".
const DUMMY_HASH = hash('not-a-password', ARGON2);

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  organisationId: string | null;
  siteRoles: SiteRole[];
  active: boolean;
  /** The sites on whose DRB the user sits; loaded with the signed-in user's session. */
  drbSiteIds?: string[];
}

/** True when the user holds the role globally, or (steward, drb_member) for any site. */
export function hasRole(user: PublicUser, role: Role): boolean {
  return user.roles.includes(role) || user.siteRoles.some((r) => r.role === role);
}

/** True when the user is a data steward of this site. */
export function isStewardOf(user: PublicUser, siteId: string): boolean {
  return hasSiteRole(user, siteId, 'steward');
}

/** True when the user sits on this site's Data Review Board. */
export function isDrbMemberOf(user: PublicUser, siteId: string): boolean {
  return hasSiteRole(user, siteId, 'drb_member');
}

function hasSiteRole(user: PublicUser, siteId: string, role: SiteRoleName): boolean {
  return user.siteRoles.some((r) => r.siteId === siteId && r.role === role);
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Users as the API shows them, their site roles loaded in one query. */
export async function publicUsers(db: Kysely<HubDatabase>, rows: readonly UserRow[]): Promise<PublicUser[]> {
  const siteRoles = await siteRolesOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) =>
    userView(
      row,
      siteRoles.filter((r) => r.user_id === row.id).map((r) => ({ siteId: r.site_id, role: r.role })),
    ),
  );
}

/** A user row as the API shows it, with site roles already loaded. */
export function userView(row: UserRow, siteRoles: SiteRole[]): PublicUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles: row.roles.filter(isRole),
    organisationId: row.organisation_id,
    siteRoles,
    active: row.active,
  };
}

export async function publicUser(db: Kysely<HubDatabase>, row: UserRow): Promise<PublicUser> {
  const [user] = await publicUsers(db, [row]);
  return user!;
}

export function hashPassword(password: string): Promise<string> {
  if (password.length < 8) throw new ItdaError('validation_failed', 'password: at least 8 characters');
  return hash(password, ARGON2);
}

export interface NewUser {
  email: string;
  name: string;
  roles: Role[];
  organisationId?: string | null;
}

/** Inserts an account whose password is already hashed (null: OpenID Connect only). */
export async function insertNewUser(
  db: Kysely<HubDatabase>,
  input: NewUser & { passwordHash: string | null },
): Promise<UserRow> {
  if (await findUserByEmail(db, input.email)) throw new ItdaError('conflict', `user ${input.email} exists`);
  return insertUser(db, {
    id: randomUUID(),
    email: input.email,
    name: input.name,
    passwordHash: input.passwordHash,
    roles: input.roles,
    organisationId: input.organisationId ?? null,
  });
}

export async function createUser(
  ctx: HubContext,
  input: NewUser & { password: string | null },
): Promise<PublicUser> {
  const passwordHash = input.password === null ? null : await hashPassword(input.password);
  return publicUser(ctx.db, await insertNewUser(ctx.db, { ...input, passwordHash }));
}

export interface NewSession {
  user: PublicUser;
  token: string;
  /** Sent back by the browser in `x-csrf-token` on every state-changing request. */
  csrfToken: string;
  expiresAt: Date;
}

/** Opens a session for a user already authenticated (password or OpenID Connect). */
export async function openSession(ctx: HubContext, row: UserRow): Promise<NewSession> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await insertSession(ctx.db, {
    tokenHash: sha256Hex(token),
    userId: row.id,
    expiresAt,
    csrfHash: sha256Hex(csrfToken),
  });
  return { user: await publicUser(ctx.db, row), token, csrfToken, expiresAt };
}

/**
 * Password sign-in. Refused with 429 while the account (at this address, or anywhere)
 * or the address has too many recent failures; see rate-limit.ts.
 */
export async function login(
  ctx: HubContext,
  email: string,
  password: string,
  from: { ip?: string } = {},
): Promise<NewSession> {
  const ip = from.ip ?? 'unknown';
  const account = email.toLowerCase();
  await checkLoginRate(ctx, account, ip);
  const row = await findUserByEmail(ctx.db, account);
  const ok = await verify(row?.password_hash ?? (await DUMMY_HASH), password);
  if (!row?.password_hash || !ok || !row.active) {
    await recordFailedLogin(ctx, account, ip);
    await audit(ctx, {
      actorType: 'user',
      actorId: row?.id ?? null,
      action: 'auth.login_failed',
      details: { email, ...(row && !row.active && ok ? { reason: 'deactivated' } : {}) },
    });
    throw new ItdaError('unauthenticated', 'e-mail or password is wrong');
  }
  await recordSuccessfulLogin(ctx, account, ip);
  await audit(ctx, { actorType: 'user', actorId: row.id, action: 'auth.login' });
  return openSession(ctx, row);
}

/** The session's active user and its CSRF token hash, or undefined. */
export async function sessionFor(
  ctx: HubContext,
  token: string | undefined,
): Promise<{ user: PublicUser; csrfHash: string | null } | undefined> {
  if (!token) return undefined;
  const row = await findSessionUser(ctx.db, sha256Hex(token), new Date());
  return row
    ? { user: { ...userView(row, row.site_roles), drbSiteIds: row.drb_sites }, csrfHash: row.csrf_hash }
    : undefined;
}

export async function userForSession(
  ctx: HubContext,
  token: string | undefined,
): Promise<PublicUser | undefined> {
  return (await sessionFor(ctx, token))?.user;
}

export async function logout(ctx: HubContext, token: string | undefined): Promise<void> {
  const userId = token ? await deleteSession(ctx.db, sha256Hex(token)) : undefined;
  if (userId) await audit(ctx, { actorType: 'user', actorId: userId, action: 'auth.logout' });
}
