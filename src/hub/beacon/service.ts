/**
 * A GA4GH Beacon v2-style view of federated feasibility: Beacon filters become a Circe
 * cohort (through the simple cohort builder), which goes through the feasibility service
 * like any other query — same sites, same disclosure control at each site, same
 * differencing defence, same audit entries and query history — and the answer is
 * presented in the Beacon v2 response shape. See README.md beside this file.
 */
import { buildCohort, type SimpleCohortSpec, type SimpleEvent } from '../../cohort/builder.ts';
import type { CohortExpressionJson } from '../../cohort/expression.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { type FeasibilityQueryView, MAX_FEASIBILITY_WAIT_SECONDS } from '../../protocol/feasibility.ts';
import type { HubContext } from '../context.ts';
import { type FeasibilityUser, getFeasibilityQuery, submitFeasibilityQuery } from '../feasibility/service.ts';
import { listSites } from '../sites/store.ts';
import {
  BEACON_API_VERSION,
  BEACON_ID,
  type BeaconFilter,
  type BeaconIndividualsResponse,
  type BeaconRequest,
  type BeaconResultSet,
  type Granularity,
  INDIVIDUAL_SCHEMA,
} from './schema.ts';
import { type BeaconConcept, conceptsById, standardConcepts } from './store.ts';

/** OMOP domains a concept filter may come from, and the builder's name for each. */
const DOMAINS: Record<string, SimpleEvent['domain']> = {
  Condition: 'condition',
  Drug: 'drug',
  Procedure: 'procedure',
  Measurement: 'measurement',
  Observation: 'observation',
  Visit: 'visit',
  Device: 'device',
};

/** Sex as an ontology term: OMOP gender concepts, and the NCIt terms Beacon v2 examples use. */
const SEX_TERMS: Record<string, 'male' | 'female'> = {
  '8507': 'male',
  '8532': 'female',
  'OMOP:8507': 'male',
  'OMOP:8532': 'female',
  'NCIT:C20197': 'male',
  'NCIT:C16576': 'female',
  male: 'male',
  female: 'female',
};
const SEX_FILTER_IDS = new Set(['gender', 'sex']);
const AGE_FILTER_IDS = new Set(['age', 'ageatentry']);

const CONCEPT_ID = /^(?:OMOP:)?([1-9][0-9]{0,9})$/i;

/** The concept id of an ontology filter (`313217`, `OMOP:313217`), else undefined. */
export function filterConceptId(id: string): number | undefined {
  const match = CONCEPT_ID.exec(id);
  return match ? Number(match[1]) : undefined;
}

/** Whole years from `65` or an ISO 8601 duration `P65Y`. */
function years(value: string, where: string): number {
  const match = /^(?:P)?([0-9]{1,3})(?:Y)?$/i.exec(value);
  if (!match)
    throw new ItdaError('validation_failed', `${where}: age "${value}" is not whole years (65 or P65Y)`);
  return Number(match[1]);
}

function numberValue(value: string, where: string): number {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n))
    throw new ItdaError('validation_failed', `${where}: "${value}" is not a number`);
  return n;
}

export interface BeaconCohort {
  definition: CohortExpressionJson;
  /** A short description for the query history ("Beacon: Atrial fibrillation; age ≥ 65"). */
  name: string;
}

/**
 * Translates Beacon filters (all must hold, as Beacon v2 defines) into a Circe cohort:
 * the first concept filter's first occurrence is the entry event, each further concept
 * filter a "must have" rule over the observation period, sex and age (at entry) are
 * demographic rules. Without concept filters the entry is each person's first
 * observation period, so age is at its start. Concept filters need the concept's domain,
 * so they must be in the hub's vocabulary; anything not understood is refused, naming
 * the filter — never ignored.
 */
export function beaconCohort(
  filters: readonly BeaconFilter[],
  concepts: ReadonlyMap<number, BeaconConcept>,
): BeaconCohort {
  const events: SimpleEvent[] = [];
  const labels: string[] = [];
  let sex: 'male' | 'female' | undefined;
  const age: { min?: number; max?: number } = {};
  const setSex = (value: 'male' | 'female', where: string) => {
    if (sex && sex !== value)
      throw new ItdaError('validation_failed', `${where}: contradicts the other sex filter`);
    sex = value;
  };
  filters.forEach((filter, index) => {
    const where = `filters[${index}] (${filter.id})`;
    const key = filter.id.toLowerCase();
    if (SEX_FILTER_IDS.has(key)) {
      const value = SEX_TERMS[filter.value ?? ''] ?? SEX_TERMS[(filter.value ?? '').toLowerCase()];
      if (!value || (filter.operator && filter.operator !== '='))
        throw new ItdaError(
          'validation_failed',
          `${where}: give value 8507/male or 8532/female with operator "="`,
        );
      setSex(value, where);
      return;
    }
    if (AGE_FILTER_IDS.has(key)) {
      if (!filter.operator || filter.value === undefined)
        throw new ItdaError('validation_failed', `${where}: an age filter needs an operator and a value`);
      const n = years(filter.value, where);
      const min = { '>=': n, '>': n + 1, '=': n }[filter.operator as string];
      const max = { '<=': n, '<': n - 1, '=': n }[filter.operator as string];
      if (min !== undefined) age.min = Math.max(age.min ?? 0, min);
      if (max !== undefined) age.max = Math.min(age.max ?? Number.MAX_SAFE_INTEGER, max);
      labels.push(`age ${filter.operator} ${n}`);
      return;
    }
    const sexTerm = SEX_TERMS[filter.id];
    if (sexTerm && filter.operator === undefined) {
      setSex(sexTerm, where);
      return;
    }
    const conceptId = filterConceptId(filter.id);
    if (conceptId === undefined)
      throw new ItdaError(
        'unsupported',
        `${where}: not a filter this beacon knows (an OMOP concept id, OMOP:<id>, Gender/sex, or age)`,
      );
    const concept = concepts.get(conceptId);
    if (!concept)
      throw new ItdaError(
        'validation_failed',
        `${where}: concept ${conceptId} is not in the hub's vocabulary`,
      );
    const domain = DOMAINS[concept.domain_id];
    if (!domain)
      throw new ItdaError(
        'unsupported',
        `${where}: concept ${conceptId} is in the ${concept.domain_id} domain; filters take ${Object.keys(DOMAINS).join(', ')}`,
      );
    const event: SimpleEvent = {
      domain,
      conceptIds: [conceptId],
      includeDescendants: filter.includeDescendantTerms ?? true,
      label: concept.concept_name,
    };
    if (filter.operator !== undefined || filter.value !== undefined) {
      if (domain !== 'measurement' && domain !== 'observation')
        throw new ItdaError(
          'validation_failed',
          `${where}: a value applies to measurements and observations, not ${domain}`,
        );
      if (!filter.operator || filter.value === undefined)
        throw new ItdaError('validation_failed', `${where}: a value filter needs both operator and value`);
      const n = numberValue(filter.value, where);
      if (filter.operator === '<' || filter.operator === '>')
        throw new ItdaError('unsupported', `${where}: use >= or <= for values (bounds are inclusive)`);
      event.value =
        filter.operator === '>=' ? { min: n } : filter.operator === '<=' ? { max: n } : { min: n, max: n };
    }
    events.push(event);
    labels.push(`${concept.concept_name}${filter.operator ? ` ${filter.operator} ${filter.value}` : ''}`);
  });
  if (age.min !== undefined && age.max !== undefined && age.min > age.max)
    throw new ItdaError(
      'validation_failed',
      `filters: the age filters leave no age (≥ ${age.min} and ≤ ${age.max})`,
    );
  if (sex) labels.push(sex);

  const [entry, ...required] = events;
  const spec: SimpleCohortSpec = {
    // A placeholder entry when there is no concept filter; replaced by observation periods below.
    entry: [entry ?? { domain: 'condition', conceptIds: [1] }],
    ...(age.min !== undefined || age.max !== undefined
      ? {
          age: {
            ...(age.min !== undefined ? { min: age.min } : {}),
            ...(age.max !== undefined ? { max: age.max } : {}),
          },
        }
      : {}),
    ...(sex ? { sex: [sex] } : {}),
    ...(required.length ? { require: required } : {}),
  };
  const definition = buildCohort(spec);
  if (!entry) {
    definition.ConceptSets = [];
    definition.PrimaryCriteria = {
      ...definition.PrimaryCriteria!,
      CriteriaList: [{ ObservationPeriod: {} }],
    };
  }
  const name = `Beacon: ${labels.length ? labels.join('; ') : 'all individuals'}`;
  return { definition, name: name.length > 200 ? `${name.slice(0, 199)}…` : name };
}

const DISCLOSURE_NOTE = {
  count:
    'counts as they left each site: 1–9 persons as "<10", others rounded to the nearest 10; numTotalResults is the lowest total these allow',
  boolean: 'existence only: a site says yes when its disclosed count is not 0',
};

function present(
  view: FeasibilityQueryView,
  request: BeaconRequest,
  returned: Exclude<Granularity, 'record'>,
): BeaconIndividualsResponse {
  const counts = returned === 'count';
  const resultSets: BeaconResultSet[] = view.sites.map((site) => {
    const count = site.status === 'answered' ? site.answer?.finalCount : undefined;
    const exists = count !== undefined && (typeof count === 'string' || count > 0);
    return {
      id: site.siteId,
      setType: 'dataset',
      exists,
      ...(counts && count !== undefined ? { resultsCount: count } : {}),
      info: { siteName: site.siteName, status: site.status, error: site.error },
    };
  });
  const wanted = request.includeResultsetResponses;
  const shown = resultSets.filter((set) =>
    wanted === 'ALL' ? true : wanted === 'HIT' ? set.exists : wanted === 'MISS' ? !set.exists : false,
  );
  return {
    meta: {
      beaconId: BEACON_ID,
      apiVersion: BEACON_API_VERSION,
      returnedGranularity: returned,
      receivedRequestSummary: {
        apiVersion: BEACON_API_VERSION,
        requestedSchemas: [INDIVIDUAL_SCHEMA],
        filters: request.filters,
        requestedGranularity: request.requestedGranularity,
        includeResultsetResponses: request.includeResultsetResponses,
        pagination: request.pagination ?? { skip: 0, limit: 10 },
      },
      returnedSchemas: [INDIVIDUAL_SCHEMA],
    },
    responseSummary: {
      exists: resultSets.some((set) => set.exists),
      ...(counts ? { numTotalResults: view.total?.atLeast ?? 0 } : {}),
    },
    response: { resultSets: shown },
    info: {
      feasibilityQueryId: view.id,
      ...(counts && view.total ? { totalDisplay: view.total.display } : {}),
      notAnswering: view.sites.filter((s) => s.status === 'not_answering').map((s) => s.siteId),
      disclosure: DISCLOSURE_NOTE[returned],
    },
  };
}

/**
 * `/individuals`: counts (or existence) of individuals matching the filters at every
 * approved site, through the feasibility service. Record granularity is answered at
 * count (a beacon may return less than asked; `meta.returnedGranularity` says so). A
 * query the differencing defence refuses is refused here too (`forbidden`), with no count.
 */
export async function beaconIndividuals(
  ctx: HubContext,
  user: FeasibilityUser,
  request: BeaconRequest,
  options: { timeoutSeconds?: number | undefined } = {},
): Promise<BeaconIndividualsResponse> {
  const ids = request.filters.flatMap((f) => {
    const id = filterConceptId(f.id);
    return id === undefined || SEX_TERMS[f.id] ? [] : [id];
  });
  const concepts = new Map((await conceptsById(ctx.db, ids)).map((c) => [c.concept_id, c]));
  const cohort = beaconCohort(request.filters, concepts);
  let view = await submitFeasibilityQuery(ctx, user, {
    name: cohort.name,
    definition: cohort.definition as Record<string, unknown>,
    ...(options.timeoutSeconds ? { timeoutSeconds: options.timeoutSeconds } : {}),
  });
  // The feasibility service settles the query by its deadline; wait for that, in long-poll steps.
  const giveUp = Date.parse(view.deadline) + 30_000;
  while (view.status === 'running' && Date.now() < giveUp && !ctx.shutdown.aborted)
    view = await getFeasibilityQuery(ctx, user, view.id, MAX_FEASIBILITY_WAIT_SECONDS);
  if (view.status === 'refused')
    throw new ItdaError('forbidden', view.refusal ?? 'the differencing defence refused this query');
  if (view.status === 'running')
    throw new ItdaError(
      'unavailable',
      `feasibility query ${view.id} has not settled; see it in the query history`,
    );
  return present(view, request, request.requestedGranularity === 'boolean' ? 'boolean' : 'count');
}

export function beaconInfo(sites: number) {
  return {
    meta: { beaconId: BEACON_ID, apiVersion: BEACON_API_VERSION, returnedSchemas: [INDIVIDUAL_SCHEMA] },
    response: {
      id: BEACON_ID,
      name: 'Itda federated hospital beacon',
      apiVersion: BEACON_API_VERSION,
      environment: 'prod',
      organization: { id: 'itda', name: 'Itda (잇다)' },
      description:
        'Counts of individuals across the hospitals of the Itda network, computed inside each hospital on OMOP CDM data and released only through its disclosure control.',
      info: { sites, granularities: ['boolean', 'count'] as Granularity[] },
    },
  };
}

/** `/info`: who this beacon is and how many approved sites it asks. */
export async function getBeaconInfo(ctx: HubContext) {
  const sites = (await listSites(ctx.db)).filter((s) => s.status === 'approved').length;
  return beaconInfo(sites);
}

/**
 * `/filtering_terms`: the alphanumeric filters (sex, age) and one page of the standard
 * concepts in the hub's vocabulary that concept filters accept.
 */
export async function getFilteringTerms(ctx: HubContext, page: { skip: number; limit: number }) {
  const concepts = await standardConcepts(ctx.db, Object.keys(DOMAINS), page);
  return {
    meta: { beaconId: BEACON_ID, apiVersion: BEACON_API_VERSION },
    response: {
      filteringTerms: [
        ...(page.skip === 0
          ? [
              {
                type: 'alphanumeric' as const,
                id: 'Gender',
                label: 'Sex: value 8507 (male) or 8532 (female)',
                scopes: ['individual'],
              },
              {
                type: 'alphanumeric' as const,
                id: 'age',
                label: 'Age in years at the entry event (operators = < > <= >=)',
                scopes: ['individual'],
              },
            ]
          : []),
        ...concepts.map((c) => ({
          type: 'ontologyTerm' as const,
          id: `OMOP:${c.concept_id}`,
          label: `${c.concept_name} (${c.vocabulary_id} ${c.concept_code}; ${c.domain_id})`,
          scopes: ['individual'],
        })),
      ],
    },
  };
}
