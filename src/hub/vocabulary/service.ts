/**
 * The hub's copy of the OMOP standardized vocabulary (CONCEPT and CONCEPT_SYNONYM only:
 * vocabulary tables hold no patient data), loaded from an Athena download (tab-separated)
 * or an OMOP CSV export, and searched by code, name and synonym for the cohort builder.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { readDelimited } from '../../omop/csv-stream.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { indexGrams, normalizeText, queryGrams, requiredGramHits } from '../catalog/ngram.ts';
import type { HubDatabase } from '../db/schema.ts';
import {
  type ConceptRow,
  conceptsWithHangulNames,
  countConcepts,
  insertGrams,
  insertSynonyms,
  searchConcepts,
  synonymsOf,
  upsertConcepts,
} from './store.ts';

const FILE_PATTERN = /^(concept|concept_synonym|concept_relationship)\.(csv|tsv|txt)(\.gz)?$/i;
const BATCH = 5000;
/** Rejected rows named in the result; the rest are only counted. */
const REPORTED_REJECTIONS = 20;

export interface VocabularyLoadResult {
  dir: string;
  concepts: number;
  synonyms: number;
  /** Korean names of concepts that map to a standard concept, kept as its synonyms. */
  mappedNames: number;
  rejected: number;
  /** "file:line: field: reason" for the first rejected rows. */
  rejections: string[];
}

interface VocabularyFiles {
  concept?: string;
  synonym?: string;
  relationship?: string;
}

function vocabularyFiles(dir: string): VocabularyFiles {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    throw new ItdaError('not_found', `cannot read the vocabulary folder ${dir}`);
  }
  const found: VocabularyFiles = {};
  const keys = {
    concept: 'concept',
    concept_synonym: 'synonym',
    concept_relationship: 'relationship',
  } as const;
  for (const name of names) {
    const m = FILE_PATTERN.exec(name);
    if (m) found[keys[m[1]!.toLowerCase() as keyof typeof keys]] = path.join(dir, name);
  }
  if (!found.concept && !found.synonym)
    throw new ItdaError(
      'not_found',
      `${dir} holds neither CONCEPT nor CONCEPT_SYNONYM (.csv, .tsv, .txt, .gz)`,
    );
  return found;
}

class RowError extends Error {}

/** Reads a file's records as objects keyed by lower-case header; a bad row goes to `reject`. */
async function* rowsOf(
  file: string,
  required: readonly string[],
  reject: (line: number, message: string) => void,
): AsyncGenerator<{ line: number; get(column: string): string }> {
  let header: Map<string, number> | undefined;
  for await (const record of readDelimited(file)) {
    if (!header) {
      header = new Map(record.fields.map((name, i) => [name.trim().toLowerCase(), i]));
      const missing = required.filter((c) => !header!.has(c));
      if (missing.length > 0)
        throw new ItdaError(
          'validation_failed',
          `${file}:${record.line}: missing column(s) ${missing.join(', ')}`,
        );
      continue;
    }
    const columns = header;
    if (record.fields.length < columns.size) {
      reject(record.line, `row: ${record.fields.length} fields, the header has ${columns.size}`);
      continue;
    }
    yield { line: record.line, get: (column) => record.fields[columns.get(column) ?? -1]?.trim() ?? '' };
  }
}

function integer(value: string, field: string): number {
  if (!/^-?\d+$/.test(value)) throw new RowError(`${field}: "${value}" is not an integer`);
  const n = Number(value);
  if (n < -2147483648 || n > 2147483647) throw new RowError(`${field}: ${value} is out of range`);
  return n;
}

function text(value: string, field: string): string {
  if (value === '') throw new RowError(`${field}: empty`);
  return value;
}

const CONCEPT_COLUMNS = [
  'concept_id',
  'concept_name',
  'domain_id',
  'vocabulary_id',
  'concept_class_id',
  'concept_code',
] as const;
const SYNONYM_COLUMNS = ['concept_id', 'concept_synonym_name', 'language_concept_id'] as const;
const RELATIONSHIP_COLUMNS = ['concept_id_1', 'concept_id_2', 'relationship_id'] as const;

/** Grams of a concept's synonyms already in the hub, so a reloaded concept keeps them. */
async function synonymGrams(db: Kysely<HubDatabase>, ids: number[]) {
  return (await synonymsOf(db, ids)).flatMap((s) =>
    [...indexGrams(s.concept_synonym_name)].map((gram) => ({ concept_id: s.concept_id, gram })),
  );
}

/**
 * Loads (or reloads: rows are upserted) a vocabulary folder into the hub: CONCEPT then
 * CONCEPT_SYNONYM, in batches, each file in one transaction. Rows that do not parse are
 * counted and named (file, line, field) and skipped; a file without the required columns
 * is refused whole.
 */
export async function loadHubVocabulary(
  db: Kysely<HubDatabase>,
  dir: string,
  options: { onProgress?: (rows: number) => void } = {},
): Promise<VocabularyLoadResult> {
  const files = vocabularyFiles(dir);
  const result: VocabularyLoadResult = {
    dir,
    concepts: 0,
    synonyms: 0,
    mappedNames: 0,
    rejected: 0,
    rejections: [],
  };
  const rejecter = (file: string) => (line: number, message: string) => {
    result.rejected++;
    if (result.rejections.length < REPORTED_REJECTIONS) result.rejections.push(`${file}:${line}: ${message}`);
  };
  if (files.concept) {
    const file = files.concept;
    await db.transaction().execute(async (trx) => {
      let batch: ConceptRow[] = [];
      const flush = async () => {
        const grams = batch.flatMap((c) =>
          [...indexGrams(c.concept_name)].map((gram) => ({ concept_id: c.concept_id, gram })),
        );
        await upsertConcepts(trx, batch, grams);
        await insertGrams(
          trx,
          await synonymGrams(
            trx,
            batch.map((c) => c.concept_id),
          ),
        );
        result.concepts += batch.length;
        options.onProgress?.(result.concepts + result.synonyms);
        batch = [];
      };
      const reject = rejecter(file);
      const seen = new Set<number>();
      for await (const row of rowsOf(file, CONCEPT_COLUMNS, reject)) {
        try {
          const concept: ConceptRow = {
            concept_id: integer(row.get('concept_id'), 'concept_id'),
            concept_name: text(row.get('concept_name'), 'concept_name'),
            domain_id: text(row.get('domain_id'), 'domain_id'),
            vocabulary_id: text(row.get('vocabulary_id'), 'vocabulary_id'),
            concept_class_id: text(row.get('concept_class_id'), 'concept_class_id'),
            standard_concept: row.get('standard_concept') || null,
            concept_code: text(row.get('concept_code'), 'concept_code'),
            invalid_reason: row.get('invalid_reason') || null,
          };
          // One statement cannot upsert the same key twice; a repeated id within a batch would.
          if (seen.has(concept.concept_id)) throw new RowError(`concept_id: ${concept.concept_id} repeats`);
          seen.add(concept.concept_id);
          batch.push(concept);
        } catch (error) {
          if (!(error instanceof RowError)) throw error;
          reject(row.line, error.message);
        }
        if (batch.length >= BATCH) await flush();
      }
      if (batch.length > 0) await flush();
    });
  }
  if (files.synonym) {
    const file = files.synonym;
    await db.transaction().execute(async (trx) => {
      let batch: SynonymRow[] = [];
      const flush = async () => {
        await insertSynonymsWithGrams(trx, batch);
        result.synonyms += batch.length;
        options.onProgress?.(result.concepts + result.synonyms);
        batch = [];
      };
      const reject = rejecter(file);
      for await (const row of rowsOf(file, SYNONYM_COLUMNS, reject)) {
        try {
          batch.push({
            concept_id: integer(row.get('concept_id'), 'concept_id'),
            concept_synonym_name: text(row.get('concept_synonym_name'), 'concept_synonym_name'),
            language_concept_id: integer(row.get('language_concept_id'), 'language_concept_id'),
          });
        } catch (error) {
          if (!(error instanceof RowError)) throw error;
          reject(row.line, error.message);
        }
        if (batch.length >= BATCH) await flush();
      }
      if (batch.length > 0) await flush();
    });
  }
  if (files.relationship) result.mappedNames = await keepMappedKoreanNames(db, files.relationship, rejecter);
  return result;
}

type SynonymRow = { concept_id: number; concept_synonym_name: string; language_concept_id: number };

async function insertSynonymsWithGrams(db: Kysely<HubDatabase>, rows: SynonymRow[]): Promise<void> {
  await insertSynonyms(db, rows);
  await insertGrams(
    db,
    rows.flatMap((s) =>
      [...indexGrams(s.concept_synonym_name)].map((gram) => ({ concept_id: s.concept_id, gram })),
    ),
  );
}

/** language_concept_id 0: the vocabulary states no language for a name it maps. */
const UNSTATED_LANGUAGE = 0;

/**
 * Gives standard concepts the Korean names of the local codes that map to them ("Maps
 * to" in CONCEPT_RELATIONSHIP), as synonyms: a cohort builder searching standard
 * concepts in Korean ("당뇨") then finds SNOMED's "Type 2 diabetes mellitus" through
 * KCD-7's "2형 당뇨병". Only sources with a Hangul name are kept, so the rows stay few.
 */
async function keepMappedKoreanNames(
  db: Kysely<HubDatabase>,
  file: string,
  rejecter: (file: string) => (line: number, message: string) => void,
): Promise<number> {
  const korean = new Map((await conceptsWithHangulNames(db)).map((c) => [c.concept_id, c.concept_name]));
  if (korean.size === 0) return 0;
  const reject = rejecter(file);
  const rows: SynonymRow[] = [];
  for await (const row of rowsOf(file, RELATIONSHIP_COLUMNS, reject)) {
    if (row.get('relationship_id') !== 'Maps to' || row.get('invalid_reason') !== '') continue;
    try {
      const source = integer(row.get('concept_id_1'), 'concept_id_1');
      const target = integer(row.get('concept_id_2'), 'concept_id_2');
      const name = korean.get(source);
      if (name && source !== target)
        rows.push({ concept_id: target, concept_synonym_name: name, language_concept_id: UNSTATED_LANGUAGE });
    } catch (error) {
      if (!(error instanceof RowError)) throw error;
      reject(row.line, error.message);
    }
  }
  await db.transaction().execute((trx) => insertSynonymsWithGrams(trx, rows));
  return rows.length;
}

export async function hubHasVocabulary(db: Kysely<HubDatabase>): Promise<boolean> {
  return (await countConcepts(db)) > 0;
}

export interface ConceptQuery {
  q: string;
  domain?: string | undefined;
  vocabulary?: string | undefined;
  standard?: boolean | undefined;
  limit: number;
}

export interface ConceptHit {
  conceptId: number;
  name: string;
  domainId: string;
  vocabularyId: string;
  conceptClassId: string;
  standardConcept: string | null;
  code: string;
  invalidReason: string | null;
  synonyms: { name: string; languageConceptId: number }[];
  /** How the concept matched: the exact code, a name or synonym prefix, or n-grams. */
  match: 'code' | 'prefix' | 'ngram';
}

const MATCHES = ['code', 'prefix', 'ngram'] as const;

/** Concepts for a query, ranked exact code → name/synonym prefix → n-gram share. */
export async function findConcepts(db: Kysely<HubDatabase>, query: ConceptQuery): Promise<ConceptHit[]> {
  const q = query.q.trim();
  if (q === '') throw new ItdaError('validation_failed', 'q: give a code or part of a name');
  const grams = queryGrams(q);
  const rows = await searchConcepts(db, {
    code: q.toLowerCase(),
    namePrefix: normalizeText(q),
    grams,
    required: requiredGramHits(grams.length),
    ...(query.domain ? { domain: query.domain } : {}),
    ...(query.vocabulary ? { vocabulary: query.vocabulary } : {}),
    ...(query.standard !== undefined ? { standard: query.standard } : {}),
    limit: query.limit,
  });
  const synonyms = await synonymsOf(
    db,
    rows.map((r) => r.concept_id),
  );
  return rows.map((r) => ({
    conceptId: r.concept_id,
    name: r.concept_name,
    domainId: r.domain_id,
    vocabularyId: r.vocabulary_id,
    conceptClassId: r.concept_class_id,
    standardConcept: r.standard_concept,
    code: r.concept_code,
    invalidReason: r.invalid_reason,
    synonyms: synonyms
      .filter((s) => s.concept_id === r.concept_id)
      .map((s) => ({ name: s.concept_synonym_name, languageConceptId: s.language_concept_id })),
    match: MATCHES[r.rank] ?? 'ngram',
  }));
}
