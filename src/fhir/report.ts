/**
 * The mapping report a steward reads after an ingest: per OMOP table the rows written and
 * the share with a standard concept, the top unmapped source codes (the to-do list), and
 * resource outcomes by status and reason. An accumulator fed one MappingResult at a time.
 */
import { CONCEPT_COLUMN, type EventTable } from './map/events.ts';
import type { MappingResult, OmopTable } from './types.ts';

/** The concept column that decides "mapped" for tables that have one. */
const MAIN_CONCEPT: Partial<Record<OmopTable, string>> = {
  ...(CONCEPT_COLUMN as Record<EventTable, string>),
  visit_occurrence: 'visit_concept_id',
  note: 'note_class_concept_id',
  person: 'gender_concept_id',
};

export interface TableSummary {
  table: OmopTable;
  rows: number;
  /** Rows whose main concept is not 0; null for tables without one (location, care_site…). */
  mapped: number | null;
  percentMapped: number | null;
}

export interface UnmappedSummary {
  table: OmopTable;
  column: string;
  system: string | null;
  code: string | null;
  display: string | null;
  count: number;
}

export interface MappingReportData {
  resources: { mapped: number; skipped: number; quarantined: number };
  reasons: { status: 'skipped' | 'quarantined'; reason: string; count: number }[];
  tables: TableSummary[];
  topUnmapped: UnmappedSummary[];
}

export class MappingReport {
  readonly #rows = new Map<OmopTable, { rows: number; mapped: number }>();
  readonly #unmapped = new Map<string, UnmappedSummary>();
  readonly #reasons = new Map<string, { status: 'skipped' | 'quarantined'; reason: string; count: number }>();
  readonly #resources = { mapped: 0, skipped: 0, quarantined: 0 };

  /** Count one resource's result. */
  add(result: MappingResult): void {
    this.#resources[result.outcome.status]++;
    if (result.outcome.status !== 'mapped') this.addReason(result.outcome.status, result.outcome.reason);
    for (const { table, row, merge } of result.rows) {
      if (merge) continue;
      const counts = this.#rows.get(table) ?? { rows: 0, mapped: 0 };
      counts.rows++;
      const column = MAIN_CONCEPT[table];
      if (column && typeof row[column] === 'number' && row[column] !== 0) counts.mapped++;
      this.#rows.set(table, counts);
    }
    for (const code of result.unmapped) {
      const key = [code.table, code.column, code.system, code.code].join('\u0000');
      const entry = this.#unmapped.get(key) ?? { ...code, count: 0 };
      entry.count++;
      this.#unmapped.set(key, entry);
    }
  }

  /** Count input that never reached the mapper (a malformed line). */
  addReason(status: 'skipped' | 'quarantined', reason: string): void {
    const key = `${status}\u0000${reason}`;
    const entry = this.#reasons.get(key) ?? { status, reason, count: 0 };
    entry.count++;
    this.#reasons.set(key, entry);
  }

  /** The report, unmapped codes ordered by how often they occur. */
  summary(topUnmapped = 20): MappingReportData {
    const tables = [...this.#rows.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([table, { rows, mapped }]) => {
        const hasConcept = MAIN_CONCEPT[table] !== undefined;
        return {
          table,
          rows,
          mapped: hasConcept ? mapped : null,
          percentMapped: hasConcept && rows > 0 ? Math.round((1000 * mapped) / rows) / 10 : null,
        };
      });
    return {
      resources: { ...this.#resources },
      reasons: [...this.#reasons.values()].sort((a, b) => b.count - a.count),
      tables,
      topUnmapped: [...this.#unmapped.values()].sort((a, b) => b.count - a.count).slice(0, topUnmapped),
    };
  }
}
