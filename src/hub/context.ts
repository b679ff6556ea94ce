import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { HubConfig } from './config.ts';
import type { DatabaseKind } from './db/database.ts';
import type { HubDatabase } from './db/schema.ts';
import type { TaskNotifier } from './jobs/notifier.ts';
import type { HubKeys } from './keys.ts';

/** What every hub service function receives: the database, the keys, the config. */
export interface HubContext {
  db: Kysely<HubDatabase>;
  databaseKind: DatabaseKind;
  keys: HubKeys;
  config: HubConfig;
  log: Logger;
  tasks: TaskNotifier;
  /** Open long-polls per site, so health can say "connected" the moment a site waits. */
  activePolls: Map<string, number>;
  /** Aborted when the hub shuts down, so long-polls end before the database closes. */
  shutdown: AbortSignal;
}
