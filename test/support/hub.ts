/**
 * Hubs for tests, on each hub dialect: embedded PGlite in a temp folder, and a
 * throw-away PostgreSQL database (required in CI, see postgres.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { type HubConfig, loadHubConfig } from '../../src/hub/config.ts';
import { createHub, type Hub } from '../../src/hub/server.ts';
import { createTempDatabase, postgresReachable } from './postgres.ts';

export const HUB_DIALECTS = ['pglite', 'postgres'] as const;
export type HubDialect = (typeof HUB_DIALECTS)[number];

export async function tempDir(prefix = 'itda-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface TestHub extends Hub {
  dataDir: string;
  /** Closes the hub and removes its data. */
  dispose(): Promise<void>;
}

/** A hub on the dialect, or undefined when PostgreSQL is unreachable outside CI. */
export async function startTestHub(
  dialect: HubDialect,
  overrides: Partial<HubConfig> = {},
): Promise<TestHub | undefined> {
  const dataDir = await tempDir('itda-hub-');
  let drop = async () => {};
  let databaseUrl: string | undefined;
  if (dialect === 'postgres') {
    if (!(await postgresReachable())) return undefined;
    const db = await createTempDatabase('itda_hub');
    databaseUrl = db.url;
    drop = db.drop;
  }
  const config = loadHubConfig({}, { dataDir, port: 0, logLevel: 'silent', ...overrides });
  const hub = await createHub(
    { ...config, ...(databaseUrl ? { databaseUrl } : {}) },
    pino({ level: 'silent' }),
  );
  return {
    ...hub,
    dataDir,
    async dispose() {
      await hub.close();
      await drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
