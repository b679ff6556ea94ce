/** Vocabularies for the tests: the golden-case seed and the Eunomia subset, as in-memory lookups. */
import fs from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../omop/csv.ts';
import { type ConceptInfo, type ConceptRelationshipRow, InMemoryConceptLookup } from './vocabulary.ts';

export const SHARED_DATA = path.resolve(import.meta.dirname, '../../../shared/data');
export const CASES_DIR = path.join(SHARED_DATA, 'fhir2omop-cases');
export const SYNTHEA_DIR = path.join(SHARED_DATA, 'synthea-r4-bundles');
export const EUNOMIA_DIR = path.join(SHARED_DATA, 'eunomia-synthea27nj-5.4');

function lower(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v ?? '']));
}

/** CONCEPT rows of a CSV file (Athena's tab-separated layout with `delimiter: '\t'`). */
export function concepts(file: string, delimiter = ','): ConceptInfo[] {
  return parseCsv(fs.readFileSync(file, 'utf8'), delimiter).map((raw) => {
    const r = lower(raw);
    return {
      concept_id: Number(r.concept_id),
      concept_name: r.concept_name ?? '',
      domain_id: r.domain_id ?? '',
      vocabulary_id: r.vocabulary_id ?? '',
      concept_class_id: r.concept_class_id ?? '',
      standard_concept: r.standard_concept || null,
      concept_code: r.concept_code ?? '',
      invalid_reason: r.invalid_reason || null,
    };
  });
}

/** CONCEPT_RELATIONSHIP rows of a CSV file. */
export function relationships(file: string, delimiter = ','): ConceptRelationshipRow[] {
  return parseCsv(fs.readFileSync(file, 'utf8'), delimiter).map((raw) => {
    const r = lower(raw);
    return {
      concept_id_1: Number(r.concept_id_1),
      concept_id_2: Number(r.concept_id_2),
      relationship_id: r.relationship_id ?? '',
      invalid_reason: r.invalid_reason || null,
    };
  });
}

/** The vocabulary seed the golden cases were written against. */
export function caseSeedLookup(): InMemoryConceptLookup {
  return new InMemoryConceptLookup(
    concepts(path.join(CASES_DIR, 'cases_vocab_seed_concept.csv')),
    relationships(path.join(CASES_DIR, 'cases_vocab_seed_concept_relationship.csv')),
  );
}

/** The case seed plus Itda's KCD-7 vocabulary (`src/synth/vocabulary`, Athena layout). */
export function caseSeedWithKcd7Lookup(): InMemoryConceptLookup {
  const kcd = path.resolve(import.meta.dirname, '../synth/vocabulary');
  return new InMemoryConceptLookup(
    [
      ...concepts(path.join(CASES_DIR, 'cases_vocab_seed_concept.csv')),
      ...concepts(path.join(kcd, 'CONCEPT.csv'), '\t'),
    ],
    [
      ...relationships(path.join(CASES_DIR, 'cases_vocab_seed_concept_relationship.csv')),
      ...relationships(path.join(kcd, 'CONCEPT_RELATIONSHIP.csv'), '\t'),
    ],
  );
}

/** The Eunomia Synthea27Nj vocabulary subset (the codes Synthea emits). */
export function eunomiaLookup(): InMemoryConceptLookup {
  return new InMemoryConceptLookup(
    concepts(path.join(EUNOMIA_DIR, 'CONCEPT.csv')),
    relationships(path.join(EUNOMIA_DIR, 'CONCEPT_RELATIONSHIP.csv')),
  );
}
