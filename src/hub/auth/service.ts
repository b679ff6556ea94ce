/**
 * Accounts and sessions. Passwords are hashed with argon2id (OWASP's recommended
 * parameters); a session is a random token whose SHA-256 alone is stored.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { ItdaError } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/signing.ts';
import { audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import { ROLES, type Role } from '../http/access.ts';
import {
  deleteSession,
  findSessionUser,
  findUserByEmail,
  insertSession,
  insertUser,
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
}

export function publicUser(row: UserRow): PublicUser {
  return { id: row.id, email: row.email, name: row.name, roles: row.roles.filter(isRole) };
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export async function createUser(
  ctx: HubContext,
  input: { email: string; name: string; password: string; roles: Role[] },
): Promise<PublicUser> {
  if (input.password.length < 8) throw new ItdaError('validation_failed', 'password: at least 8 characters');
  if (await findUserByEmail(ctx.db, input.email))
    throw new ItdaError('conflict', `user ${input.email} exists`);
  const row = await insertUser(ctx.db, {
    id: randomUUID(),
    email: input.email,
    name: input.name,
    passwordHash: await hash(input.password, ARGON2),
    roles: input.roles,
  });
  return publicUser(row);
}

export async function login(
  ctx: HubContext,
  email: string,
  password: string,
): Promise<{ user: PublicUser; token: string; expiresAt: Date }> {
  const row = await findUserByEmail(ctx.db, email);
  const ok = await verify(row?.password_hash ?? (await DUMMY_HASH), password);
  if (!row || !ok) {
    await audit(ctx, {
      actorType: 'user',
      actorId: row?.id ?? null,
      action: 'auth.login_failed',
      details: { email },
    });
    throw new ItdaError('unauthenticated', 'e-mail or password is wrong');
  }
  await audit(ctx, { actorType: 'user', actorId: row.id, action: 'auth.login' });
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await insertSession(ctx.db, { tokenHash: sha256Hex(token), userId: row.id, expiresAt });
  return { user: publicUser(row), token, expiresAt };
}

export async function userForSession(
  ctx: HubContext,
  token: string | undefined,
): Promise<PublicUser | undefined> {
  if (!token) return undefined;
  const row = await findSessionUser(ctx.db, sha256Hex(token), new Date());
  return row ? publicUser(row) : undefined;
}

export async function logout(ctx: HubContext, token: string | undefined): Promise<void> {
  if (token) await deleteSession(ctx.db, sha256Hex(token));
}

/** The demo network's accounts, created when missing. */
export const DEMO_ACCOUNTS: ReadonlyArray<{ email: string; name: string; password: string; roles: Role[] }> =
  [
    { email: 'admin@itda.demo', name: '운영자 Admin', password: 'itda-demo', roles: ['admin'] },
    {
      email: 'researcher@itda.demo',
      name: '김연구 Researcher',
      password: 'itda-demo',
      roles: ['researcher'],
    },
    { email: 'steward@itda.demo', name: '이관리 Steward', password: 'itda-demo', roles: ['steward'] },
  ];

export async function seedDemoAccounts(ctx: HubContext): Promise<void> {
  for (const account of DEMO_ACCOUNTS) {
    if (!(await findUserByEmail(ctx.db, account.email))) await createUser(ctx, account);
  }
}
