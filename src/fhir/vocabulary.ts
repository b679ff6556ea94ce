/**
 * Concept mapping: FHIR code system URI + code → OMOP source concept → "Maps to" → standard
 * concept(s), as the OMOP CDM v5.4 conventions prescribe (source value kept verbatim, source
 * concept in `*_source_concept_id`, standard concept in `*_concept_id`, 0 when none;
 * https://ohdsi.github.io/CommonDataModel/dataModelConventions.html#Mapping).
 *
 * The vocabulary itself is behind `ConceptLookup`, injected by the caller: the site store
 * answers from its CONCEPT / CONCEPT_RELATIONSHIP tables; tests use `InMemoryConceptLookup`.
 */
import type { CodeableConcept, Coding } from './types.ts';

/** A row of the OMOP CONCEPT table, as far as mapping needs it. */
export interface ConceptInfo {
  concept_id: number;
  concept_name: string;
  domain_id: string;
  vocabulary_id: string;
  concept_class_id: string;
  /** `S` standard, `C` classification, null non-standard. */
  standard_concept: string | null;
  concept_code: string;
  invalid_reason: string | null;
}

/** The vocabulary, answered by whoever holds it (site store or memory). */
export interface ConceptLookup {
  /** The concept with this code in this OMOP vocabulary (CONCEPT.vocabulary_id + concept_code). */
  sourceConcept(vocabularyId: string, code: string): ConceptInfo | undefined;
  /** Targets of valid "Maps to" relationships from this concept (CONCEPT_RELATIONSHIP). */
  mapsTo(conceptId: number): readonly ConceptInfo[];
  /** Ingredient concepts of a drug concept (CONCEPT_ANCESTOR), for drug eras; optional. */
  ingredients?(drugConceptId: number): readonly number[];
}

/**
 * FHIR code system URIs (http://hl7.org/fhir/R4/terminologies-systems.html) → OMOP
 * vocabulary_id. Korean systems use Itda's URIs (`http://itda.dev/fhir/CodeSystem/...`)
 * until HL7 Korea publishes canonical ones; KCD7 and EDI are Athena vocabularies.
 */
export const SYSTEM_TO_VOCABULARY: Readonly<Record<string, string>> = {
  'http://snomed.info/sct': 'SNOMED',
  'urn:oid:2.16.840.1.113883.6.96': 'SNOMED',
  'http://loinc.org': 'LOINC',
  'urn:oid:2.16.840.1.113883.6.1': 'LOINC',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'urn:oid:2.16.840.1.113883.6.88': 'RxNorm',
  'http://hl7.org/fhir/sid/cvx': 'CVX',
  'urn:oid:2.16.840.1.113883.12.292': 'CVX',
  'http://hl7.org/fhir/sid/ndc': 'NDC',
  'http://hl7.org/fhir/sid/icd-10-cm': 'ICD10CM',
  'http://hl7.org/fhir/sid/icd-10': 'ICD10',
  'http://hl7.org/fhir/sid/icd-9-cm': 'ICD9CM',
  'http://hl7.org/fhir/sid/icd-10-pcs': 'ICD10PCS',
  'http://www.cms.gov/Medicare/Coding/ICD10': 'ICD10PCS',
  'http://www.ama-assn.org/go/cpt': 'CPT4',
  'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets': 'HCPCS',
  'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets': 'HCPCS',
  'http://unitsofmeasure.org': 'UCUM',
  'http://www.whocc.no/atc': 'ATC',
  'http://nucc.org/provider-taxonomy': 'NUCC',
  'http://dicom.nema.org/resources/ontology/DCM': 'DICOM',
  'http://itda.dev/fhir/CodeSystem/kcd7': 'KCD7',
  'http://itda.dev/fhir/CodeSystem/edi': 'EDI',
};

/** The OMOP vocabulary of a FHIR system URI (trailing slash tolerated), or undefined. */
export function vocabularyOf(system: string | undefined): string | undefined {
  if (!system) return undefined;
  const vocabulary = SYSTEM_TO_VOCABULARY[system];
  // Called for every coding of every resource: no regular expression on the common path.
  if (vocabulary !== undefined || !system.endsWith('/')) return vocabulary;
  return SYSTEM_TO_VOCABULARY[system.slice(0, -1)];
}

/** A code resolved against the vocabulary. */
export interface ResolvedCode {
  /** The coding that was chosen (null when the CodeableConcept had only text). */
  coding: Coding | null;
  /** Verbatim source value: the chosen code, or the text when there was no coding. */
  sourceValue: string | null;
  /** The source concept (0 when the code is not in the vocabulary). */
  sourceConceptId: number;
  /** Standard concepts, one per "Maps to" target; empty when unmapped. */
  targets: readonly ConceptInfo[];
}

/**
 * The standard concepts a source concept maps to: its valid "Maps to" targets that are
 * standard, or itself when it is standard and the vocabulary lists no self-mapping.
 */
export function standardTargets(source: ConceptInfo, lookup: ConceptLookup): readonly ConceptInfo[] {
  const mapped = lookup.mapsTo(source.concept_id);
  // The common case, a single (often self-) mapping, needs no copy.
  if (mapped.length === 1 && mapped[0]!.standard_concept === 'S') return mapped;
  const targets = mapped.filter(isStandard);
  if (targets.length > 0) return dedupe(targets);
  return source.standard_concept === 'S' && !source.invalid_reason ? [source] : [];
}

function isStandard(concept: ConceptInfo): boolean {
  return concept.standard_concept === 'S';
}

function dedupe(concepts: ConceptInfo[]): ConceptInfo[] {
  const byId = new Map<number, ConceptInfo>();
  for (const concept of concepts) if (!byId.has(concept.concept_id)) byId.set(concept.concept_id, concept);
  return [...byId.values()];
}

/**
 * Choose the coding of a CodeableConcept to map (OMOP convention: one source code per row).
 * Codings are tried in `priority` order of their vocabulary (others after, in their own
 * order); the first that reaches a standard concept wins. When none does, the first coding
 * found in the vocabulary, else the first coding, is kept as source with concept 0.
 */
export function resolveCodeableConcept(
  concept: CodeableConcept | undefined,
  lookup: ConceptLookup,
  priority: readonly string[] = [],
): ResolvedCode | undefined {
  const codings: Coding[] = [];
  if (Array.isArray(concept?.coding)) {
    for (const c of concept.coding) if (typeof c?.code === 'string' && c.code !== '') codings.push(c);
  }
  if (codings.length === 0) {
    const text = typeof concept?.text === 'string' && concept.text !== '' ? concept.text : null;
    return text === null ? undefined : { coding: null, sourceValue: text, sourceConceptId: 0, targets: [] };
  }
  if (codings.length === 1) return resolveCoding(codings[0]!, lookup);
  const ordered = codings
    .map((coding, order) => ({ coding, order, rank: vocabularyRank(coding, priority) }))
    .sort((a, b) => a.rank - b.rank || a.order - b.order);
  let firstKnown: ResolvedCode | undefined;
  for (const { coding } of ordered) {
    const resolved = resolveCoding(coding, lookup);
    if (resolved.targets.length > 0) return resolved;
    if (!firstKnown && resolved.sourceConceptId !== 0) firstKnown = resolved;
  }
  return firstKnown ?? resolveCoding(ordered[0]!.coding, lookup);
}

function vocabularyRank(coding: Coding, priority: readonly string[]): number {
  const index = priority.indexOf(vocabularyOf(coding.system) ?? '');
  return index === -1 ? priority.length : index;
}

/** One coding → source concept → standard targets. */
export function resolveCoding(coding: Coding, lookup: ConceptLookup): ResolvedCode {
  const code = coding.code ?? '';
  const vocabulary = vocabularyOf(coding.system);
  const source = vocabulary ? lookup.sourceConcept(vocabulary, code) : undefined;
  return {
    coding,
    sourceValue: code,
    sourceConceptId: source?.concept_id ?? 0,
    targets: source ? standardTargets(source, lookup) : [],
  };
}

/**
 * The concept for a coded answer (`value_as_concept_id`): the first coding's standard
 * target, the lowest concept_id when it maps to several; undefined when it maps to none.
 */
export function valueConcept(
  concept: CodeableConcept | undefined,
  lookup: ConceptLookup,
): number | undefined {
  const coding = concept?.coding?.find((c) => typeof c?.code === 'string');
  if (!coding) return undefined;
  const targets = resolveCoding(coding, lookup).targets;
  return targets.length === 0 ? undefined : Math.min(...targets.map((t) => t.concept_id));
}

/** The standard UCUM unit concept of a unit code, or undefined. */
export function unitConcept(unitCode: string | undefined, lookup: ConceptLookup): number | undefined {
  if (!unitCode) return undefined;
  const source = lookup.sourceConcept('UCUM', unitCode);
  if (!source) return undefined;
  return standardTargets(source, lookup)[0]?.concept_id;
}

/** Rows of CONCEPT_RELATIONSHIP, as far as the in-memory lookup needs them. */
export interface ConceptRelationshipRow {
  concept_id_1: number;
  concept_id_2: number;
  relationship_id: string;
  invalid_reason: string | null;
}

/** Relationships walked upward from a drug to its ingredients when CONCEPT_ANCESTOR is empty. */
const TOWARD_INGREDIENT = new Set([
  'RxNorm has ing',
  'Consists of',
  'Tradename of',
  'Marketed form of',
  'Box of',
  'Quantified form of',
  'RxNorm is a',
]);

/**
 * A ConceptLookup over CONCEPT and CONCEPT_RELATIONSHIP rows held in memory: for tests and
 * small vocabularies (a golden-case seed, the Eunomia subset). Ingredients come from
 * CONCEPT_ANCESTOR rows when given, else from walking RxNorm relationships.
 */
export class InMemoryConceptLookup implements ConceptLookup {
  readonly #byId = new Map<number, ConceptInfo>();
  readonly #byCode = new Map<string, ConceptInfo>();
  readonly #mapsTo = new Map<number, number[]>();
  readonly #mapsToConcepts = new Map<number, ConceptInfo[]>();
  readonly #towardIngredient = new Map<number, number[]>();
  readonly #ancestors = new Map<number, number[]>();

  constructor(
    concepts: Iterable<ConceptInfo>,
    relationships: Iterable<ConceptRelationshipRow>,
    ancestors: Iterable<{ ancestor_concept_id: number; descendant_concept_id: number }> = [],
  ) {
    for (const concept of concepts) {
      this.#byId.set(concept.concept_id, concept);
      this.#byCode.set(`${concept.vocabulary_id}\u0000${concept.concept_code}`, concept);
    }
    for (const rel of relationships) {
      if (rel.invalid_reason) continue;
      if (rel.relationship_id === 'Maps to') push(this.#mapsTo, rel.concept_id_1, rel.concept_id_2);
      else if (TOWARD_INGREDIENT.has(rel.relationship_id))
        push(this.#towardIngredient, rel.concept_id_1, rel.concept_id_2);
    }
    for (const a of ancestors) push(this.#ancestors, a.descendant_concept_id, a.ancestor_concept_id);
  }

  sourceConcept(vocabularyId: string, code: string): ConceptInfo | undefined {
    return this.#byCode.get(`${vocabularyId}\u0000${code}`);
  }

  mapsTo(conceptId: number): readonly ConceptInfo[] {
    let targets = this.#mapsToConcepts.get(conceptId);
    if (targets === undefined) {
      targets = [];
      for (const id of this.#mapsTo.get(conceptId) ?? []) {
        const concept = this.#byId.get(id);
        if (concept) targets.push(concept);
      }
      this.#mapsToConcepts.set(conceptId, targets);
    }
    return targets;
  }

  concept(conceptId: number): ConceptInfo | undefined {
    return this.#byId.get(conceptId);
  }

  ingredients(drugConceptId: number): readonly number[] {
    const isIngredient = (id: number) => this.#byId.get(id)?.concept_class_id === 'Ingredient';
    if (isIngredient(drugConceptId)) return [drugConceptId];
    const ancestors = this.#ancestors.get(drugConceptId);
    if (ancestors) return ancestors.filter(isIngredient);
    const found = new Set<number>();
    const seen = new Set<number>([drugConceptId]);
    let frontier = [drugConceptId];
    for (let depth = 0; depth < 5 && frontier.length > 0; depth++) {
      const next: number[] = [];
      for (const id of frontier) {
        for (const up of this.#towardIngredient.get(id) ?? []) {
          if (seen.has(up)) continue;
          seen.add(up);
          if (isIngredient(up)) found.add(up);
          else next.push(up);
        }
      }
      frontier = next;
    }
    return [...found].sort((a, b) => a - b);
  }
}

function push(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
