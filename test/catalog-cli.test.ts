/**
 * `itda hub vocab load` as a user runs it: a real process through bin/itda.js, then the
 * hub it loaded answers concept searches from that vocabulary.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openHubDatabase } from '../src/hub/db/database.ts';
import { findConcepts } from '../src/hub/vocabulary/service.ts';
import { KCD7_VOCABULARY_DIR } from '../src/synth/vocabulary.ts';
import { tempDir } from './support/hub.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/itda.js');

function itda(args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('itda hub vocab load', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
  });

  it('loads a vocabulary folder into the hub database and refuses a missing one', async () => {
    const dataDir = await tempDir('itda-vocab-cli-');
    dirs.push(dataDir);
    const conceptLines = (await fs.readFile(path.join(KCD7_VOCABULARY_DIR, 'CONCEPT.csv'), 'utf8'))
      .trim()
      .split('\n').length;
    const run = itda(['hub', 'vocab', 'load', '--data-dir', dataDir, '--json', KCD7_VOCABULARY_DIR]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ concepts: conceptLines - 1, synonyms: 0, rejected: 0 });

    const missing = itda(['hub', 'vocab', 'load', '--data-dir', dataDir, path.join(dataDir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the vocabulary folder .*nope/);

    const database = await openHubDatabase({ dataDir });
    try {
      const hits = await findConcepts(database.db, { q: 'E11.9', limit: 5 });
      expect(hits[0]).toMatchObject({ code: 'E11.9', vocabularyId: 'KCD7', match: 'code' });
      expect(hits[0]!.name).toMatch(/당뇨병/);
    } finally {
      await database.close();
    }
  }, 240_000);
});
