/**
 * SQL for Circe criteria: one domain criterion (a row source of events), windowed and
 * correlated criteria relative to an index event, demographic criteria and nested groups.
 * The semantics follow circe-be's builders and templates (criteria queries, windowed
 * criteria, groupQuery, demographicCriteria); the SQL text is this engine's own.
 *
 * Every criteria query yields `person_id, event_id, start_date, end_date,
 * visit_occurrence_id, sort_date` (plus one count column when a distinct count asks for it).
 * Every group query yields distinct `person_id, event_id` pairs of its event table that pass.
 */
import { ItdaError } from '../protocol/errors.ts';
import { type CriteriaDomainName, type CriteriaJoin, DOMAINS, type DomainSpec } from './domains.ts';
import type {
  CorrelatedCriteria,
  Criteria,
  CriteriaGroup,
  DemographicCriteria,
  DomainCriteria,
  Window,
} from './expression.ts';
import type {
  ConceptRef,
  ConceptSetSelection,
  DateRange,
  NumericRange,
  Period,
  TextFilter,
} from './primitives.ts';
import {
  addDays,
  conceptIdList,
  conceptSetSelectionClause,
  dateLiteral,
  dateRangeClause,
  indent,
  numericRangeClause,
  textFilterClause,
} from './sql.ts';

export interface CriteriaContext {
  /** Quoted CDM schema. */
  cdm: string;
  /** Name of the (temporary) table holding `codeset_id, concept_id`. */
  codesets: string;
}

/** Extra per-event column a distinct occurrence count needs (Circe's CriteriaColumn). */
export type CountColumn =
  | 'domain_concept_id'
  | 'duration'
  | 'start_date'
  | 'end_date'
  | 'visit_occurrence_id';

const COUNT_COLUMNS: Record<string, CountColumn> = {
  DOMAIN_CONCEPT: 'domain_concept_id',
  DURATION: 'duration',
  START_DATE: 'start_date',
  END_DATE: 'end_date',
  VISIT_ID: 'visit_occurrence_id',
};

function codesetMembership(column: string, codesetId: number, ctx: CriteriaContext): string {
  return `${column} IN (SELECT concept_id FROM ${ctx.codesets} WHERE codeset_id = ${codesetId})`;
}

function joinClause(join: CriteriaJoin, ctx: CriteriaContext): string {
  switch (join) {
    case 'person':
      return `JOIN ${ctx.cdm}.person P ON P.person_id = C.person_id`;
    case 'visit':
      return `JOIN ${ctx.cdm}.visit_occurrence V ON V.visit_occurrence_id = C.visit_occurrence_id AND V.person_id = C.person_id`;
    case 'provider':
      return `LEFT JOIN ${ctx.cdm}.provider PR ON PR.provider_id = C.provider_id`;
    case 'careSite':
      return `JOIN ${ctx.cdm}.care_site CS ON CS.care_site_id = C.care_site_id`;
  }
}

function onlyDomain(criteria: Criteria, path: string): [CriteriaDomainName, DomainCriteria] {
  const entries = Object.entries(criteria).filter(([, v]) => v != null) as [
    CriteriaDomainName,
    DomainCriteria,
  ][];
  if (entries.length !== 1)
    throw new ItdaError('validation_failed', `${path}: a criterion names exactly one domain`);
  return entries[0]!;
}

function isGroupEmpty(group: CriteriaGroup | null | undefined): boolean {
  return (
    !group ||
    ((group.CriteriaList?.length ?? 0) === 0 &&
      (group.DemographicCriteriaList?.length ?? 0) === 0 &&
      (group.Groups?.length ?? 0) === 0)
  );
}

/**
 * One domain criterion as an event query. Concept-set filters apply before `First`
 * (the first matching record per person), every other attribute after it, as in Circe.
 */
export function criteriaQuery(
  criteria: Criteria,
  ctx: CriteriaContext,
  path: string,
  countColumn?: CountColumn,
): string {
  const [domain, attrs] = onlyDomain(criteria, path);
  const spec: DomainSpec = DOMAINS[domain];
  const at = `${path}.${domain}`;
  const a = spec.alias;
  const innerWhere: string[] = [];
  const where: string[] = [];
  const joins = new Set<CriteriaJoin>();
  let first = false;
  let userPeriod: Period | undefined;

  for (const [field, value] of Object.entries(attrs)) {
    if (value == null || field === 'CorrelatedCriteria' || field === 'DateAdjustment') continue;
    const kind = spec.fields[field];
    if (!kind) throw new ItdaError('unsupported', `unsupported Circe field ${at}.${field}`);
    if (kind.kind !== 'flag' && 'join' in kind && kind.join) {
      // A filter with an empty concept list is no filter, and needs no join.
      if (!(Array.isArray(value) && value.length === 0)) joins.add(kind.join);
    }
    switch (kind.kind) {
      case 'codeset':
        innerWhere.push(codesetMembership(`${a}.${kind.column}`, value as number, ctx));
        break;
      case 'codesetFilter':
        where.push(codesetMembership(kind.column, value as number, ctx));
        break;
      case 'first':
        first = value === true;
        break;
      case 'dateRange':
        where.push(dateRangeClause(kind.expr, value as DateRange, `${at}.${field}`));
        break;
      case 'numericRange':
        where.push(numericRangeClause(kind.expr, value as NumericRange, kind.decimal, `${at}.${field}`));
        break;
      case 'concepts': {
        const concepts = value as ConceptRef[];
        if (concepts.length === 0) break;
        const exclude = kind.excludeFlag ? attrs[kind.excludeFlag] === true : false;
        where.push(`${kind.column} ${exclude ? 'NOT IN' : 'IN'} (${conceptIdList(concepts)})`);
        break;
      }
      case 'conceptSet':
        where.push(conceptSetSelectionClause(kind.column, value as ConceptSetSelection, ctx.codesets));
        break;
      case 'text':
        where.push(textFilterClause(kind.column, value as TextFilter));
        break;
      case 'abnormal':
        if (value === true)
          where.push(
            '(C.value_as_number < C.range_low OR C.value_as_number > C.range_high OR C.value_as_concept_id IN (4155142, 4155143))',
          );
        break;
      case 'userDefinedPeriod':
        userPeriod = value as Period;
        break;
      case 'flag':
        break;
    }
  }

  // Date adjustment (Circe DateAdjustment): start/end re-based on either date plus an offset.
  let start = spec.start;
  let end = spec.end;
  if (attrs.DateAdjustment) {
    const adj = attrs.DateAdjustment;
    const pick = (which: 'START_DATE' | 'END_DATE' | null | undefined, fallback: string) =>
      which === 'START_DATE' ? spec.start : which === 'END_DATE' ? spec.end : fallback;
    start = addDays(pick(adj.StartWith, spec.start), adj.StartOffset ?? 0);
    end = addDays(pick(adj.EndWith, spec.end), adj.EndOffset ?? 0);
    where.push('C.end_date >= C.start_date');
  }

  let startOut = 'C.start_date';
  let endOut = 'C.end_date';
  if (userPeriod) {
    for (const date of [userPeriod.StartDate, userPeriod.EndDate]) {
      if (date) where.push(`C.start_date <= ${dateLiteral(date)} AND C.end_date >= ${dateLiteral(date)}`);
    }
    if (userPeriod.StartDate) startOut = dateLiteral(userPeriod.StartDate);
    if (userPeriod.EndDate) endOut = dateLiteral(userPeriod.EndDate);
  }
  if (first) where.push('C.ordinal = 1');

  const ordinal = first
    ? `,\n    row_number() OVER (PARTITION BY ${a}.person_id ORDER BY ${spec.firstOrder}) AS ordinal`
    : '';
  // Periods rank all of a person's rows; other domains rank the concept-set matches only.
  const inner = [
    `SELECT ${a}.*, ${start} AS start_date, ${end} AS end_date${ordinal}`,
    `FROM ${ctx.cdm}.${spec.table} ${a}`,
    ...(innerWhere.length && !spec.rankAllRows ? [`WHERE ${innerWhere.join('\n  AND ')}`] : []),
  ].join('\n');
  if (spec.rankAllRows) where.push(...innerWhere);

  let extra = '';
  if (countColumn === 'domain_concept_id') extra = `,\n  ${spec.domainConcept} AS domain_concept_id`;
  else if (countColumn === 'duration') extra = `,\n  (${endOut} - ${startOut}) AS duration`;

  const visit = spec.hasVisit ? 'C.visit_occurrence_id' : 'CAST(NULL AS BIGINT)';
  const query = [
    `-- ${domain} criteria (${at})`,
    `SELECT C.person_id, C.${spec.eventId} AS event_id, ${startOut} AS start_date, ${endOut} AS end_date,`,
    `  ${visit} AS visit_occurrence_id, C.start_date AS sort_date${extra}`,
    'FROM (',
    indent(inner),
    ') C',
    ...[...joins].map((j) => joinClause(j, ctx)),
    ...(where.length ? [`WHERE ${where.join('\n  AND ')}`] : []),
  ].join('\n');

  if (isGroupEmpty(attrs.CorrelatedCriteria)) return query;
  return withCorrelatedCriteria(
    query,
    attrs.CorrelatedCriteria!,
    ctx,
    `${at}.CorrelatedCriteria`,
    countColumn,
  );
}

/** A criterion's own correlated criteria: keep its events that pass the nested group. */
function withCorrelatedCriteria(
  query: string,
  group: CriteriaGroup,
  ctx: CriteriaContext,
  path: string,
  countColumn: CountColumn | undefined,
): string {
  const eventTable = [
    '(',
    '  SELECT Q.person_id, Q.event_id, Q.start_date, Q.end_date, Q.visit_occurrence_id,',
    '    OP.observation_period_start_date AS op_start_date, OP.observation_period_end_date AS op_end_date',
    '  FROM (',
    indent(query, 4),
    '  ) Q',
    `  JOIN ${ctx.cdm}.observation_period OP ON OP.person_id = Q.person_id`,
    '    AND OP.observation_period_start_date <= Q.start_date AND OP.observation_period_end_date >= Q.start_date',
    ')',
  ].join('\n');
  const extra = countColumn && !['start_date', 'end_date', 'visit_occurrence_id'].includes(countColumn);
  return [
    `SELECT PE.person_id, PE.event_id, PE.start_date, PE.end_date, PE.visit_occurrence_id, PE.sort_date${extra ? `, PE.${countColumn}` : ''}`,
    'FROM (',
    indent(query),
    ') PE',
    'JOIN (',
    indent(groupQuery(group, eventTable, ctx, path)),
    ') AC ON AC.person_id = PE.person_id AND AC.event_id = PE.event_id',
  ].join('\n');
}

function windowBound(
  endpoint: { Days?: number | null; Coeff: -1 | 1 } | null | undefined,
  fallbackCoeff: -1 | 1,
  indexDate: string,
  checkObservationPeriod: boolean,
): string | null {
  const coeff = endpoint?.Coeff ?? fallbackCoeff;
  if (endpoint?.Days != null) return addDays(indexDate, coeff * endpoint.Days);
  // An open end is bounded by the index event's observation period, unless that is ignored.
  if (!checkObservationPeriod) return null;
  return coeff === -1 ? 'P.op_start_date' : 'P.op_end_date';
}

function windowClauses(
  window: Window,
  eventDate: string,
  checkObservationPeriod: boolean,
  clauses: string[],
): void {
  const indexDate = window.UseIndexEnd ? 'P.end_date' : 'P.start_date';
  const lower = windowBound(window.Start, -1, indexDate, checkObservationPeriod);
  const upper = windowBound(window.End, 1, indexDate, checkObservationPeriod);
  if (lower) clauses.push(`${eventDate} >= ${lower}`);
  if (upper) clauses.push(`${eventDate} <= ${upper}`);
}

/**
 * Circe windowed criteria: the criterion's events `A` that fall in the start (and end)
 * window around each index event `P` of `eventTable`; yields `person_id, event_id` of the
 * index event (plus the count column).
 */
export function windowedQuery(
  correlated: CorrelatedCriteria,
  eventTable: string,
  ctx: CriteriaContext,
  path: string,
  countColumn?: CountColumn,
): string {
  const query = criteriaQuery(correlated.Criteria, ctx, `${path}.Criteria`, countColumn);
  return [
    `SELECT P.person_id, P.event_id${countColumn ? `, A.${countColumn}` : ''}`,
    `FROM ${eventTable} P`,
    'JOIN (',
    indent(query),
    `) A ON ${windowClausesOf(correlated).join('\n  AND ')}`,
  ].join('\n');
}

/** The criterion's events `A` in the windows of the index event `P` (for NOT EXISTS). */
function windowedMatch(correlated: CorrelatedCriteria, ctx: CriteriaContext, path: string): string {
  return [
    'SELECT 1 FROM (',
    indent(criteriaQuery(correlated.Criteria, ctx, `${path}.Criteria`)),
    `) A WHERE ${windowClausesOf(correlated).join('\n  AND ')}`,
  ].join('\n');
}

/** Join conditions between a correlated criterion's events `A` and the index event `P`. */
function windowClausesOf(correlated: CorrelatedCriteria): string[] {
  const checkObservationPeriod = !correlated.IgnoreObservationPeriod;
  const clauses = ['A.person_id = P.person_id'];
  if (checkObservationPeriod)
    clauses.push('A.start_date >= P.op_start_date AND A.start_date <= P.op_end_date');
  const startWindow = correlated.StartWindow ?? { Start: { Coeff: -1 }, End: { Coeff: 1 } };
  windowClauses(
    startWindow,
    startWindow.UseEventEnd ? 'A.end_date' : 'A.start_date',
    checkObservationPeriod,
    clauses,
  );
  if (correlated.EndWindow) {
    // Circe: an end window without UseEventEnd compares the event's end date.
    const eventDate = correlated.EndWindow.UseEventEnd === false ? 'A.start_date' : 'A.end_date';
    windowClauses(correlated.EndWindow, eventDate, checkObservationPeriod, clauses);
  }
  if (correlated.RestrictVisit) clauses.push('A.visit_occurrence_id = P.visit_occurrence_id');
  return clauses;
}

const OCCURRENCE_OPERATORS = { 0: '=', 1: '<=', 2: '>=' } as const;

/** Circe correlated criteria: index events with exactly / at most / at least N matches. */
function correlatedQuery(
  correlated: CorrelatedCriteria,
  eventTable: string,
  indexId: number,
  ctx: CriteriaContext,
  path: string,
  uniqueEvents: boolean,
): string {
  const occurrence = correlated.Occurrence ?? { Type: 2 as const, Count: 1 };
  let countColumn: CountColumn | undefined;
  if (occurrence.IsDistinct) {
    const requested = occurrence.CountColumn ?? 'DOMAIN_CONCEPT';
    countColumn = COUNT_COLUMNS[requested];
    if (!countColumn)
      throw new ItdaError(
        'unsupported',
        `unsupported Circe value ${path}.Occurrence.CountColumn = ${requested} (supported: ${Object.keys(COUNT_COLUMNS).join(', ')})`,
      );
  }
  if (uniqueEvents && !countColumn && occurrence.Count === 0 && occurrence.Type !== 2)
    // "Exactly 0" / "at most 0": an anti-join, not a count of left-joined matches. (An event
    // listed twice, as in a criterion's own correlated criteria, must fail on either copy's
    // matches, so that keeps the count.)
    return [
      `SELECT ${indexId} AS index_id, P.person_id, P.event_id`,
      `FROM ${eventTable} P`,
      'WHERE NOT EXISTS (',
      indent(windowedMatch(correlated, ctx, path)),
      ')',
    ].join('\n');
  const windowed = windowedQuery(correlated, eventTable, ctx, path, countColumn);
  const counted = countColumn ? `COUNT(DISTINCT cc.${countColumn})` : 'COUNT(cc.event_id)';
  const having = `HAVING ${counted} ${OCCURRENCE_OPERATORS[occurrence.Type]} ${occurrence.Count}`;
  // Zero matches must be able to pass: start from every index event and left-join the matches.
  if (occurrence.Type === 1 || occurrence.Count === 0)
    return [
      `SELECT ${indexId} AS index_id, p.person_id, p.event_id`,
      `FROM ${eventTable} p`,
      'LEFT JOIN (',
      indent(windowed),
      ') cc ON cc.person_id = p.person_id AND cc.event_id = p.event_id',
      'GROUP BY p.person_id, p.event_id',
      having,
    ].join('\n');
  return [
    `SELECT ${indexId} AS index_id, cc.person_id, cc.event_id`,
    'FROM (',
    indent(windowed),
    ') cc',
    'GROUP BY cc.person_id, cc.event_id',
    having,
  ].join('\n');
}

/** Circe demographic criteria, evaluated at the index event's start date. */
/** A demographic criterion's conditions on person `person` at event `event`. */
function demographicClauses(
  demographic: DemographicCriteria,
  person: string,
  event: string,
  ctx: CriteriaContext,
  path: string,
): string[] {
  const where: string[] = [];
  if (demographic.Age)
    where.push(
      numericRangeClause(
        `EXTRACT(YEAR FROM ${event}.start_date) - ${person}.year_of_birth`,
        demographic.Age,
        false,
        `${path}.Age`,
      ),
    );
  const lists: [ConceptRef[] | null | undefined, string][] = [
    [demographic.Gender, `${person}.gender_concept_id`],
    [demographic.Race, `${person}.race_concept_id`],
    [demographic.Ethnicity, `${person}.ethnicity_concept_id`],
  ];
  for (const [concepts, column] of lists)
    if (concepts && concepts.length > 0) where.push(`${column} IN (${conceptIdList(concepts)})`);
  const sets: [ConceptSetSelection | null | undefined, string][] = [
    [demographic.GenderCS, `${person}.gender_concept_id`],
    [demographic.RaceCS, `${person}.race_concept_id`],
    [demographic.EthnicityCS, `${person}.ethnicity_concept_id`],
  ];
  for (const [selection, column] of sets)
    if (selection) where.push(conceptSetSelectionClause(column, selection, ctx.codesets));
  if (demographic.OccurrenceStartDate)
    where.push(
      dateRangeClause(`${event}.start_date`, demographic.OccurrenceStartDate, `${path}.OccurrenceStartDate`),
    );
  if (demographic.OccurrenceEndDate)
    where.push(
      dateRangeClause(`${event}.end_date`, demographic.OccurrenceEndDate, `${path}.OccurrenceEndDate`),
    );
  return where;
}

function demographicQuery(
  demographic: DemographicCriteria,
  eventTable: string,
  indexId: number,
  ctx: CriteriaContext,
  path: string,
): string {
  const where = demographicClauses(demographic, 'P', 'E', ctx, path);
  return [
    `SELECT ${indexId} AS index_id, E.person_id, E.event_id`,
    `FROM ${eventTable} E`,
    `JOIN ${ctx.cdm}.person P ON P.person_id = E.person_id`,
    ...(where.length ? [`WHERE ${where.join('\n  AND ')}`] : []),
  ].join('\n');
}

/**
 * A criteria group as a condition on one event row aliased `P` (columns of the event
 * tables), when every member is a check of that row alone: a demographic criterion, or a
 * correlated criterion counted without DISTINCT that asks for at least one match (EXISTS)
 * or for none (NOT EXISTS), in an `ALL` or `ANY` group. Such a rule needs no join of the
 * events to a per-rule result. Otherwise `null`: the caller uses `groupQuery`. The
 * semantics are circe-be's group counts (ALL: every member passes; ANY: one does).
 */
export function groupPredicate(group: CriteriaGroup, ctx: CriteriaContext, path: string): string | null {
  const type = group.Type ?? 'ALL';
  if (type !== 'ALL' && type !== 'ANY') return null;
  if ((group.Groups?.length ?? 0) > 0) return null;
  const terms: string[] = [];
  for (const [i, correlated] of (group.CriteriaList ?? []).entries()) {
    const occurrence = correlated.Occurrence ?? { Type: 2 as const, Count: 1 };
    if (occurrence.IsDistinct) return null;
    const memberPath = `${path}.CriteriaList[${i}]`;
    const none = occurrence.Count === 0 && occurrence.Type !== 2;
    const some = occurrence.Type === 2 && occurrence.Count === 1;
    if (!none && !some) return null;
    terms.push(`${none ? 'NOT ' : ''}EXISTS (\n${indent(windowedMatch(correlated, ctx, memberPath))}\n)`);
  }
  for (const [i, demographic] of (group.DemographicCriteriaList ?? []).entries()) {
    const where = demographicClauses(demographic, 'DP', 'P', ctx, `${path}.DemographicCriteriaList[${i}]`);
    terms.push(
      `EXISTS (SELECT 1 FROM ${ctx.cdm}.person DP WHERE ${['DP.person_id = P.person_id', ...where].join('\n  AND ')})`,
    );
  }
  if (terms.length === 0) return null;
  return `-- criteria group ${type} (${path}), per event\n(${terms.join(type === 'ALL' ? '\n AND ' : '\n OR ')})`;
}

function onlyDemographic(group: CriteriaGroup): boolean {
  return (group.CriteriaList?.length ?? 0) === 0 && (group.DemographicCriteriaList?.length ?? 0) > 0;
}

/**
 * Circe criteria group (ALL / ANY / AT_LEAST n / AT_MOST n over its criteria,
 * demographic criteria and sub-groups): the `person_id, event_id` of `eventTable` that pass.
 * An empty group passes every event. `uniqueEvents` says each `person_id, event_id` occurs
 * once in `eventTable` (true of the primary and qualified events), which lets the group
 * count its members' rows without joining back to the table.
 */
export function groupQuery(
  group: CriteriaGroup,
  eventTable: string,
  ctx: CriteriaContext,
  path: string,
  uniqueEvents = false,
): string {
  const members: string[] = [];
  (group.CriteriaList ?? []).forEach((correlated, i) => {
    members.push(
      correlatedQuery(
        correlated,
        eventTable,
        members.length,
        ctx,
        `${path}.CriteriaList[${i}]`,
        uniqueEvents,
      ),
    );
  });
  (group.DemographicCriteriaList ?? []).forEach((demographic, i) => {
    members.push(
      demographicQuery(demographic, eventTable, members.length, ctx, `${path}.DemographicCriteriaList[${i}]`),
    );
  });
  (group.Groups ?? []).forEach((sub, i) => {
    members.push(
      [
        `SELECT ${members.length} AS index_id, G.person_id, G.event_id`,
        'FROM (',
        indent(groupQuery(sub, eventTable, ctx, `${path}.Groups[${i}]`, uniqueEvents)),
        ') G',
      ].join('\n'),
    );
  });
  if (members.length === 0) return `SELECT person_id, event_id FROM ${eventTable}`;

  const type = group.Type ?? 'ALL';
  let having: string;
  let join = 'JOIN';
  switch (type) {
    case 'ALL':
      having = `= ${members.length}`;
      break;
    case 'ANY':
      having = '> 0';
      break;
    case 'AT_LEAST':
    case 'AT_MOST': {
      if (group.Count == null)
        throw new ItdaError('validation_failed', `${path}.Count is required for ${type}`);
      having = `${type === 'AT_LEAST' ? '>=' : '<='} ${group.Count}`;
      // "At most" and "at least 0" must let events with no passing member through.
      if (type === 'AT_MOST' || group.Count === 0) join = 'LEFT JOIN';
      break;
    }
  }
  const oneRowPasses = type === 'ALL' || type === 'ANY' || (type === 'AT_LEAST' && group.Count === 1);
  if (uniqueEvents && members.length === 1 && oneRowPasses && !onlyDemographic(group))
    // A lone correlated criterion or sub-group yields each passing event once: it is the group.
    return [
      `-- criteria group ${type} (${path}), one member`,
      'SELECT CQ.person_id, CQ.event_id',
      'FROM (',
      indent(members[0]!),
      ') CQ',
    ].join('\n');
  if (join === 'JOIN' && uniqueEvents)
    // Every member row is an event of the table, and each event is there once: the counts
    // need no join back to it.
    return [
      `-- criteria group ${type} (${path})`,
      'SELECT CQ.person_id, CQ.event_id',
      'FROM (',
      indent(members.join('\nUNION ALL\n')),
      ') CQ',
      'GROUP BY CQ.person_id, CQ.event_id',
      `HAVING COUNT(CQ.index_id) ${having}`,
    ].join('\n');
  return [
    `-- criteria group ${type} (${path})`,
    'SELECT E.person_id, E.event_id',
    `FROM ${eventTable} E`,
    `${join} (`,
    indent(members.join('\nUNION ALL\n')),
    ') CQ ON CQ.person_id = E.person_id AND CQ.event_id = E.event_id',
    'GROUP BY E.person_id, E.event_id',
    `HAVING COUNT(CQ.index_id) ${having}`,
  ].join('\n');
}

export { isGroupEmpty };
