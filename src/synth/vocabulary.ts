/**
 * The Itda KCD-7 vocabulary in Athena's download layout (tab-separated, upper-case file
 * names, dates as YYYYMMDD): the KCD-7 codes the population uses as non-standard
 * concepts (concept_id ≥ 2,000,000,000, the OMOP convention for local codes) with
 * "Maps to" relationships to their standard SNOMED concepts.
 */
import { fileURLToPath } from 'node:url';
import { DIAGNOSES } from './codes.ts';

export const KCD7_VOCABULARY_DIR = fileURLToPath(new URL('./vocabulary/', import.meta.url));
export const KCD7_VOCABULARY_ID = 'KCD7';
export const KCD7_VOCABULARY_CONCEPT_ID = 2000000000;

const VALID_START = '19700101';
const VALID_END = '20991231';

function tsv(header: string[], rows: (string | number)[][]): string {
  return `${[header, ...rows].map((r) => r.join('\t')).join('\n')}\n`;
}

export function kcd7VocabularyFiles(): Record<string, string> {
  const diagnoses = Object.values(DIAGNOSES);
  return {
    'CONCEPT.csv': tsv(
      [
        'concept_id',
        'concept_name',
        'domain_id',
        'vocabulary_id',
        'concept_class_id',
        'standard_concept',
        'concept_code',
        'valid_start_date',
        'valid_end_date',
        'invalid_reason',
      ],
      [
        [
          KCD7_VOCABULARY_CONCEPT_ID,
          'Korean Standard Classification of Diseases, 7th revision (Itda subset)',
          'Metadata',
          'Vocabulary',
          'Vocabulary',
          '',
          'OMOP generated',
          VALID_START,
          VALID_END,
          '',
        ],
        ...diagnoses.map((d) => [
          d.kcd7ConceptId,
          d.kcd7Display,
          'Condition',
          KCD7_VOCABULARY_ID,
          d.kcd7.includes('.') ? 'KCD7 code' : 'KCD7 category',
          '',
          d.kcd7,
          VALID_START,
          VALID_END,
          '',
        ]),
      ],
    ),
    'CONCEPT_RELATIONSHIP.csv': tsv(
      [
        'concept_id_1',
        'concept_id_2',
        'relationship_id',
        'valid_start_date',
        'valid_end_date',
        'invalid_reason',
      ],
      diagnoses.flatMap((d) => [
        [d.kcd7ConceptId, d.standardConceptId, 'Maps to', VALID_START, VALID_END, ''],
        [d.standardConceptId, d.kcd7ConceptId, 'Mapped from', VALID_START, VALID_END, ''],
      ]),
    ),
    'VOCABULARY.csv': tsv(
      [
        'vocabulary_id',
        'vocabulary_name',
        'vocabulary_reference',
        'vocabulary_version',
        'vocabulary_concept_id',
      ],
      [
        [
          KCD7_VOCABULARY_ID,
          'Korean Standard Classification of Diseases, 7th revision (Itda subset)',
          'https://kssc.kostat.go.kr',
          'KCD-7 (Itda 2026)',
          KCD7_VOCABULARY_CONCEPT_ID,
        ],
      ],
    ),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const fs = await import('node:fs');
  for (const [name, text] of Object.entries(kcd7VocabularyFiles()))
    fs.writeFileSync(`${KCD7_VOCABULARY_DIR}${name}`, text);
  process.stdout.write(`wrote ${KCD7_VOCABULARY_DIR}\n`);
}
