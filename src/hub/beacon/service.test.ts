import { describe, expect, it } from 'vitest';
import { compileCohort } from '../../cohort/compile.ts';
import { beaconCohort, filterConceptId } from './service.ts';
import type { BeaconConcept } from './store.ts';

const concept = (id: number, domain: string, name: string): [number, BeaconConcept] => [
  id,
  {
    concept_id: id,
    concept_name: name,
    domain_id: domain,
    vocabulary_id: 'SNOMED',
    concept_code: String(id),
  },
];
const CONCEPTS = new Map([
  concept(313217, 'Condition', 'Atrial fibrillation'),
  concept(40163554, 'Drug', 'warfarin sodium 5 MG Oral Tablet'),
  concept(3004410, 'Measurement', 'Hemoglobin A1c'),
  concept(8532, 'Gender', 'FEMALE'),
  concept(4000000, 'Type Concept', 'EHR'),
]);

/** The parts of a Circe inclusion rule these tests read. */
interface RuleJson {
  name: string;
  expression: {
    DemographicCriteriaList: unknown[];
    CriteriaList: { Criteria: Record<string, { CodesetId: number }> }[];
  };
}

const compiles = (definition: unknown) =>
  expect(
    compileCohort(definition, { dialect: 'duckdb', cdmSchema: 'cdm', resultSchema: 'r', cohortId: 1 })
      .statements.length,
  ).toBeGreaterThan(5);

describe('beacon filters → Circe cohort', () => {
  it('reads concept ids with or without the OMOP prefix', () => {
    expect(filterConceptId('313217')).toBe(313217);
    expect(filterConceptId('OMOP:313217')).toBe(313217);
    expect(filterConceptId('NCIT:C16576')).toBeUndefined();
    expect(filterConceptId('0')).toBeUndefined();
  });

  it('makes the first concept the entry and the others required, with sex and age rules', () => {
    const { definition, name } = beaconCohort(
      [
        { id: 'OMOP:313217' },
        { id: '40163554', includeDescendantTerms: false },
        { id: 'Gender', value: '8532' },
        { id: 'age', operator: '>=', value: 'P65Y' },
        { id: 'age', operator: '<', value: '90' },
      ],
      CONCEPTS,
    );
    expect(name).toBe(
      'Beacon: Atrial fibrillation; warfarin sodium 5 MG Oral Tablet; age >= 65; age < 90; female',
    );
    const codeset = (id: unknown) => definition.ConceptSets?.find((c) => c.id === id)?.expression.items[0];
    const entry = definition.PrimaryCriteria?.CriteriaList?.[0] as {
      ConditionOccurrence: { CodesetId: number };
    };
    expect(codeset(entry.ConditionOccurrence.CodesetId)).toMatchObject({
      concept: { CONCEPT_ID: 313217 },
      includeDescendants: true,
    });
    const rules = (definition.InclusionRules ?? []) as unknown as RuleJson[];
    const required = rules[2]!.expression.CriteriaList[0]!.Criteria;
    expect(codeset(required.DrugExposure!.CodesetId)).toMatchObject({
      concept: { CONCEPT_ID: 40163554 },
      includeDescendants: false,
    });
    expect(rules.map((r) => r.name)).toEqual([
      'Age 65–89',
      'Sex: female',
      expect.stringMatching(/^Has warfarin/),
    ]);
    expect(rules[0]!.expression.DemographicCriteriaList[0]).toEqual({
      Age: { Value: 65, Op: 'bt', Extent: 89 },
    });
    expect(rules[1]!.expression.DemographicCriteriaList[0]).toEqual({ Gender: [{ CONCEPT_ID: 8532 }] });
    compiles(definition);
  });

  it('takes sex as an ontology term too, and a measurement value bound', () => {
    const { definition } = beaconCohort(
      [{ id: '3004410', operator: '>=', value: '6.5' }, { id: 'NCIT:C16576' }],
      CONCEPTS,
    );
    expect(definition.PrimaryCriteria?.CriteriaList).toEqual([
      { Measurement: { CodesetId: 0, ValueAsNumber: { Value: 6.5, Op: 'gte' } } },
    ]);
    expect(definition.InclusionRules?.map((r) => r.name)).toEqual(['Sex: female']);
    compiles(definition);
  });

  it('counts everyone by observation period when no concept is given', () => {
    const { definition, name } = beaconCohort([{ id: 'sex', value: 'male' }], CONCEPTS);
    expect(name).toBe('Beacon: male');
    expect(definition.ConceptSets).toEqual([]);
    expect(definition.PrimaryCriteria?.CriteriaList).toEqual([{ ObservationPeriod: {} }]);
    compiles(definition);
    compiles(beaconCohort([], CONCEPTS).definition);
  });

  it('refuses what it does not understand, naming the filter', () => {
    const refusal = (filters: Parameters<typeof beaconCohort>[0]) => {
      try {
        beaconCohort(filters, CONCEPTS);
      } catch (error) {
        return `${(error as { code: string }).code}: ${(error as Error).message}`;
      }
      return 'accepted';
    };
    expect(refusal([{ id: 'HP:0001627' }])).toMatch(
      /^unsupported: filters\[0\] \(HP:0001627\): not a filter/,
    );
    expect(refusal([{ id: '313217' }, { id: '999' }])).toBe(
      "validation_failed: filters[1] (999): concept 999 is not in the hub's vocabulary",
    );
    expect(refusal([{ id: '4000000' }])).toMatch(/Type Concept domain/);
    expect(refusal([{ id: '313217', operator: '>=', value: '3' }])).toMatch(/not condition/);
    expect(refusal([{ id: '3004410', operator: '>', value: '3' }])).toMatch(/use >= or <=/);
    expect(refusal([{ id: 'age', value: '65' }])).toMatch(/needs an operator/);
    expect(refusal([{ id: 'age', operator: '>=', value: 'old' }])).toMatch(/not whole years/);
    expect(
      refusal([
        { id: 'age', operator: '>=', value: '80' },
        { id: 'age', operator: '<=', value: '70' },
      ]),
    ).toMatch(/leave no age/);
    expect(refusal([{ id: 'Gender', value: '8507' }, { id: '8532' }])).toMatch(/contradicts/);
    expect(refusal([{ id: 'Gender', value: 'other' }])).toMatch(/8507\/male or 8532\/female/);
  });
});
