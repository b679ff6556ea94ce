/**
 * `itda ingest`: FHIR R4 files into the site's OMOP store, using the pure mapping of
 * src/fhir. Each file is one transaction (a file that fails part-way leaves none of its
 * rows); a file already ingested (same bytes) is skipped, so an interrupted run resumes
 * where it stopped and a second run adds nothing. Memory holds one batch of resources and
 * the codes the vocabulary has answered, not the whole input.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import {
  type ConceptInfo,
  type ConceptLookup,
  type FhirResource,
  type IdAllocator,
  listFhirFiles,
  MappingReport,
  mapResource,
  readFhirFile,
  vocabularyOf,
} from '../../fhir/index.ts';
import { quoteIdent } from '../../omop/ddl.ts';
import type { SiteStore, SqlValue } from '../store/store.ts';
import { rebuildEras } from './eras.ts';
import { Quarantine } from './quarantine.ts';

const BATCH = 2000;

export interface FhirIngestSummary {
  files: number;
  skippedFiles: number;
  resources: number;
  rowsWritten: number;
  quarantined: number;
  report: ReturnType<MappingReport['summary']>;
}

/** Vocabulary answers, fetched from the store a batch at a time and kept for the run. */
class StoreConcepts implements ConceptLookup {
  private readonly byCode = new Map<string, ConceptInfo | null>();
  private readonly maps = new Map<number, ConceptInfo[]>();

  constructor(private readonly store: SiteStore) {}

  /** Fetches every (vocabulary, code) the batch mentions that is not cached yet. */
  async prefetch(resources: readonly FhirResource[]): Promise<void> {
    const wanted = new Map<string, [string, string]>();
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        const v = value as { system?: unknown; code?: unknown };
        if (typeof v.system === 'string' && typeof v.code === 'string') {
          const vocabulary = vocabularyOf(v.system);
          if (vocabulary && !this.byCode.has(`${vocabulary}|${v.code}`))
            wanted.set(`${vocabulary}|${v.code}`, [vocabulary, v.code]);
        }
        for (const child of Object.values(value)) if (child && typeof child === 'object') walk(child);
      }
    };
    resources.forEach(walk);
    // UCUM units and gender codes are looked up by code too.
    const pairs = [...wanted.values()];
    const s = quoteIdent(this.store.cdmSchema);
    const byVocabulary = new Map<string, string[]>();
    for (const [vocabulary, code] of pairs)
      byVocabulary.set(vocabulary, [...(byVocabulary.get(vocabulary) ?? []), code]);
    for (const [vocabulary, codes] of byVocabulary) {
      for (let i = 0; i < codes.length; i += 1000) {
        const chunk = codes.slice(i, i + 1000);
        const found = await this.store.all<ConceptInfo>(
          `SELECT concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, standard_concept, concept_code, invalid_reason
           FROM ${s}.concept WHERE vocabulary_id = $1 AND concept_code IN (${chunk.map((_, j) => `$${j + 2}`).join(', ')})`,
          [vocabulary, ...chunk],
        );
        for (const code of chunk) this.byCode.set(`${vocabulary}|${code}`, null);
        for (const c of found) this.byCode.set(`${c.vocabulary_id}|${c.concept_code}`, c);
        const ids = found.map((c) => c.concept_id).filter((id) => !this.maps.has(id));
        if (ids.length) {
          const targets = await this.store.all<ConceptInfo & { source_id: number }>(
            `SELECT r.concept_id_1 AS source_id, c.concept_id, c.concept_name, c.domain_id, c.vocabulary_id, c.concept_class_id,
                  c.standard_concept, c.concept_code, c.invalid_reason
             FROM ${s}.concept_relationship r JOIN ${s}.concept c ON c.concept_id = r.concept_id_2
            WHERE r.relationship_id = 'Maps to' AND r.invalid_reason IS NULL AND r.concept_id_1 IN (${ids.join(', ')})`,
          );
          for (const id of ids) this.maps.set(id, []);
          for (const { source_id, ...target } of targets) this.maps.get(source_id)!.push(target);
        }
      }
    }
  }

  sourceConcept(vocabularyId: string, code: string): ConceptInfo | undefined {
    return this.byCode.get(`${vocabularyId}|${code}`) ?? undefined;
  }

  mapsTo(conceptId: number): readonly ConceptInfo[] {
    return this.maps.get(conceptId) ?? [];
  }
}

/**
 * Ids for one batch: mapping runs twice, first recording every key it asks for, then with
 * those keys resolved against the store (existing ids) or newly allocated (written back in
 * the same transaction).
 */
class BatchIds implements IdAllocator {
  readonly requested = new Map<string, [string, string]>();
  private resolved: Map<string, number> | undefined;

  idFor(namespace: string, key: string): number {
    const k = `${namespace}\u0000${key}`;
    if (!this.resolved) {
      this.requested.set(k, [namespace, key]);
      return -1;
    }
    const id = this.resolved.get(k);
    if (id === undefined) throw new Error(`id for ${namespace}/${key} was not prepared`);
    return id;
  }

  async resolve(tx: SiteStore, next: { value: number }): Promise<void> {
    const resolved = new Map<string, number>();
    const pairs = [...this.requested.entries()];
    // One IN list per namespace: the database probes a hash of keys instead of testing OR chains.
    const byNamespace = new Map<string, string[]>();
    for (const [, [namespace, key]] of pairs)
      byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), key]);
    for (const [namespace, keys] of byNamespace) {
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000);
        const found = await tx.all<{ key: string; omop_id: number }>(
          `SELECT key, omop_id FROM itda.id_map WHERE namespace = $1 AND key IN (${chunk.map((_, j) => `$${j + 2}`).join(', ')})`,
          [namespace, ...chunk],
        );
        for (const f of found) resolved.set(`${namespace}\u0000${f.key}`, f.omop_id);
      }
    }
    const fresh: SqlValue[][] = [];
    for (const [k, [namespace, key]] of pairs) {
      if (resolved.has(k)) continue;
      const id = next.value++;
      resolved.set(k, id);
      fresh.push([namespace, key, id]);
    }
    await tx.appendRows('itda', 'id_map', ['namespace', 'key', 'omop_id'], fresh);
    this.resolved = resolved;
  }
}

/** Content hash of a file, streamed so a large export is never held in memory. */
async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Inserts rows whose primary key is not there yet (identical re-ingests add nothing). */
async function writeRows(tx: SiteStore, table: string, rows: Record<string, SqlValue>[]): Promise<number> {
  if (rows.length === 0) return 0;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const target = `${quoteIdent(tx.cdmSchema)}.${quoteIdent(table)}`;
  const stage = `stage_fhir_${table}`;
  await tx.run(`DROP TABLE IF EXISTS itda.${quoteIdent(stage)}`);
  await tx.run(`CREATE TABLE itda.${quoteIdent(stage)} AS SELECT * FROM ${target} LIMIT 0`);
  await tx.appendRows(
    'itda',
    stage,
    columns,
    rows.map((r) => columns.map((c) => r[c] ?? null)),
  );
  const [pk] = await tx.all<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position LIMIT 1`,
    [tx.cdmSchema, table],
  );
  const list = columns.map(quoteIdent).join(', ');
  const key = quoteIdent(pk!.column_name);
  const [before] = await tx.all<{ n: number }>(`SELECT count(*) AS n FROM ${target}`);
  // The first column of every table Itda writes is its key (person_id for death).
  await tx.run(
    `INSERT INTO ${target} (${list}) SELECT DISTINCT ON (${key}) ${list} FROM itda.${quoteIdent(stage)} s
      WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE t.${key} = s.${key})`,
  );
  await tx.run(`DROP TABLE itda.${quoteIdent(stage)}`);
  const [after] = await tx.all<{ n: number }>(`SELECT count(*) AS n FROM ${target}`);
  return after!.n - before!.n;
}

/** observation_period, rebuilt from every event date: one period per person from first to last event. */
export async function rebuildObservationPeriods(store: SiteStore): Promise<void> {
  const s = quoteIdent(store.cdmSchema);
  const events = [
    ['visit_occurrence', 'visit_start_date', 'visit_end_date'],
    ['condition_occurrence', 'condition_start_date', 'condition_start_date'],
    ['drug_exposure', 'drug_exposure_start_date', 'drug_exposure_end_date'],
    ['procedure_occurrence', 'procedure_date', 'procedure_date'],
    ['measurement', 'measurement_date', 'measurement_date'],
    ['observation', 'observation_date', 'observation_date'],
  ]
    .map(([t, a, b]) => `SELECT person_id, ${a} AS d1, COALESCE(${b}, ${a}) AS d2 FROM ${s}.${t}`)
    .join(' UNION ALL ');
  await store.transaction(async (tx) => {
    await tx.run(`DELETE FROM ${s}.observation_period`);
    await tx.run(
      `INSERT INTO ${s}.observation_period (observation_period_id, person_id, observation_period_start_date, observation_period_end_date, period_type_concept_id)
       SELECT person_id, person_id, min(d1), max(d2), 32817 FROM (${events}) e GROUP BY person_id`,
    );
  });
}

export async function ingestFhir(
  store: SiteStore,
  paths: readonly string[],
  options: { quarantineDir: string; onProgress?: (resources: number) => void },
): Promise<FhirIngestSummary> {
  const files = await listFhirFiles(paths);
  const concepts = new StoreConcepts(store);
  const report = new MappingReport();
  const quarantine = new Quarantine(options.quarantineDir);
  const summary: FhirIngestSummary = {
    files: files.length,
    skippedFiles: 0,
    resources: 0,
    rowsWritten: 0,
    quarantined: 0,
    report: report.summary(),
  };
  const [maxId] = await store.all<{ n: number | null }>('SELECT max(omop_id) AS n FROM itda.id_map');
  const next = { value: (maxId?.n ?? 0) + 1 };
  try {
    for (const file of files) {
      const sha256 = await sha256File(file);
      const [done] = await store.all('SELECT 1 AS done FROM itda.ingested_file WHERE sha256 = $1', [sha256]);
      if (done) {
        summary.skippedFiles++;
        continue;
      }
      const start = next.value;
      try {
        await store.transaction(async (tx) => {
          let batch: { resource: FhirResource; line: number }[] = [];
          let resources = 0;
          let rowsWritten = 0;
          let quarantined = 0;
          const flush = async () => {
            if (batch.length === 0) return;
            await concepts.prefetch(batch.map((b) => b.resource));
            const ids = new BatchIds();
            for (const b of batch) mapResource(b.resource, { concepts, ids });
            await ids.resolve(tx, next);
            const byTable = new Map<string, Record<string, SqlValue>[]>();
            for (const b of batch) {
              const result = mapResource(b.resource, { concepts, ids });
              report.add(result);
              if (result.outcome.status === 'quarantined') {
                quarantined++;
                quarantine.add({
                  file,
                  line: b.line,
                  reason: `${result.outcome.reason}: ${result.outcome.detail}`,
                });
              }
              for (const r of result.rows) {
                if (r.merge) continue;
                if (!byTable.has(r.table)) byTable.set(r.table, []);
                byTable.get(r.table)!.push(r.row as Record<string, SqlValue>);
              }
            }
            for (const [table, rows] of byTable) rowsWritten += await writeRows(tx, table, rows);
            resources += batch.length;
            options.onProgress?.(summary.resources + resources);
            batch = [];
          };
          for await (const item of readFhirFile(file)) {
            if (item.kind === 'quarantine') {
              quarantined++;
              report.addReason('quarantined', item.reason);
              quarantine.add({ file, line: item.line, reason: `${item.reason}: ${item.detail}` });
              continue;
            }
            batch.push({ resource: item.resource, line: item.line });
            if (batch.length >= BATCH) await flush();
          }
          await flush();
          await tx.run(
            'INSERT INTO itda.ingested_file (sha256, path, resources, rows_written, quarantined, finished_at) VALUES ($1, $2, $3, $4, $5, $6)',
            [sha256, file, resources, rowsWritten, quarantined, new Date().toISOString()],
          );
          summary.resources += resources;
          summary.rowsWritten += rowsWritten;
          summary.quarantined += quarantined;
        });
      } catch (error) {
        // The file's rows are rolled back; so are its ids.
        next.value = start;
        throw error;
      }
    }
    if (summary.files > summary.skippedFiles) await rebuildObservationPeriods(store);
    if (summary.files > summary.skippedFiles) await rebuildEras(store);
  } finally {
    quarantine.close();
  }
  summary.report = report.summary();
  return summary;
}
