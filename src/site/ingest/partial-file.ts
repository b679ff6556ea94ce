/**
 * A FHIR file too large for one transaction commits in parts. Until its last part commits,
 * `itda.partial_file` lists it with the range of ids it allocated (ids only grow, so every
 * row keyed in that range is its own) and `itda.partial_file_row` the rows it wrote under ids
 * allocated before it (a person first referenced by an earlier file's encounters, say).
 * `undoPartialFiles` deletes exactly those rows and ids: a file that failed part-way, or whose
 * run was killed, leaves none of its rows behind.
 */
import type { OmopTable } from '../../fhir/types.ts';
import { quoteIdent } from '../../omop/ddl.ts';
import type { SiteStore } from '../store/store.ts';

/** The key of each CDM table the FHIR mapper writes. */
export const WRITTEN_TABLE_KEYS: readonly [OmopTable, string][] = [
  ['person', 'person_id'],
  ['death', 'person_id'],
  ['location', 'location_id'],
  ['care_site', 'care_site_id'],
  ['provider', 'provider_id'],
  ['visit_occurrence', 'visit_occurrence_id'],
  ['condition_occurrence', 'condition_occurrence_id'],
  ['procedure_occurrence', 'procedure_occurrence_id'],
  ['drug_exposure', 'drug_exposure_id'],
  ['device_exposure', 'device_exposure_id'],
  ['measurement', 'measurement_id'],
  ['observation', 'observation_id'],
  ['specimen', 'specimen_id'],
  ['note', 'note_id'],
  ['image_occurrence', 'image_occurrence_id'],
];

/** One part of a file that has more to come: what it wrote that the id range does not cover. */
export async function recordPart(
  tx: SiteStore,
  file: { sha256: string; path: string; firstId: number; lastId: number; started: boolean },
  olderRows: readonly [table: string, id: number][],
): Promise<void> {
  if (file.started) {
    await tx.run('UPDATE itda.partial_file SET last_id = $1 WHERE sha256 = $2', [file.lastId, file.sha256]);
  } else {
    await tx.run(
      'INSERT INTO itda.partial_file (sha256, path, first_id, last_id, started_at) VALUES ($1, $2, $3, $4, $5)',
      [file.sha256, file.path, file.firstId, file.lastId, new Date().toISOString()],
    );
  }
  await tx.appendRows(
    'itda',
    'partial_file_row',
    ['sha256', 'table_name', 'id'],
    olderRows.map(([table, id]) => [file.sha256, table, id]),
  );
}

/** The file's last part: it is no longer partial. */
export async function finishParts(tx: SiteStore, sha256: string): Promise<void> {
  await tx.run('DELETE FROM itda.partial_file_row WHERE sha256 = $1', [sha256]);
  await tx.run('DELETE FROM itda.partial_file WHERE sha256 = $1', [sha256]);
}

/** Deletes the rows and ids of every file whose parts did not all commit; returns their paths. */
export async function undoPartialFiles(store: SiteStore): Promise<string[]> {
  const partial = await store.all<{ sha256: string; path: string; first_id: number; last_id: number }>(
    'SELECT sha256, path, first_id, last_id FROM itda.partial_file ORDER BY first_id',
  );
  const s = quoteIdent(store.cdmSchema);
  for (const file of partial) {
    await store.transaction(async (tx) => {
      for (const [table, key] of WRITTEN_TABLE_KEYS) {
        const k = quoteIdent(key);
        await tx.run(
          `DELETE FROM ${s}.${quoteIdent(table)} WHERE ${k} BETWEEN $1 AND $2
              OR ${k} IN (SELECT id FROM itda.partial_file_row WHERE sha256 = $3 AND table_name = $4)`,
          [file.first_id, file.last_id, file.sha256, table],
        );
      }
      await tx.run('DELETE FROM itda.id_map WHERE omop_id BETWEEN $1 AND $2', [file.first_id, file.last_id]);
      await finishParts(tx, file.sha256);
    });
  }
  return partial.map((f) => f.path);
}
