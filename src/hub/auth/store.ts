import type { Kysely, Selectable } from 'kysely';
import type { AppUserTable, HubDatabase } from '../db/schema.ts';

export type UserRow = Selectable<AppUserTable>;

export function findUserByEmail(db: Kysely<HubDatabase>, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('app_user').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
}

export async function insertUser(
  db: Kysely<HubDatabase>,
  user: { id: string; email: string; name: string; passwordHash: string; roles: string[] },
): Promise<UserRow> {
  return db
    .insertInto('app_user')
    .values({
      id: user.id,
      email: user.email.toLowerCase(),
      name: user.name,
      password_hash: user.passwordHash,
      roles: JSON.stringify(user.roles),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertSession(
  db: Kysely<HubDatabase>,
  session: { tokenHash: string; userId: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('session')
    .values({ token_hash: session.tokenHash, user_id: session.userId, expires_at: session.expiresAt })
    .execute();
}

export function findSessionUser(
  db: Kysely<HubDatabase>,
  tokenHash: string,
  now: Date,
): Promise<UserRow | undefined> {
  return db
    .selectFrom('session')
    .innerJoin('app_user', 'app_user.id', 'session.user_id')
    .selectAll('app_user')
    .where('session.token_hash', '=', tokenHash)
    .where('session.expires_at', '>', now)
    .executeTakeFirst();
}

export async function deleteSession(db: Kysely<HubDatabase>, tokenHash: string): Promise<void> {
  await db.deleteFrom('session').where('token_hash', '=', tokenHash).execute();
}
