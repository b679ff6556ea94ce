/**
 * Loads one delimited file into one CDM table: bulk, in one transaction (a file that
 * fails part-way leaves none of its rows), idempotent (rows already there are replaced by
 * primary key, or not added twice where the table has none). Bad rows are quarantined
 * with their line and field; the rest of the file goes on.
 */

import { readDelimited } from '../../omop/csv-stream.ts';
import { type CdmColumnSpec, type CdmTableSpec, quoteIdent } from '../../omop/index.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { SiteStore, SqlValue } from '../store/store.ts';
import type { Quarantine } from './quarantine.ts';

export interface TableLoadResult {
  table: string;
  file: string;
  rowsRead: number;
  rowsAdded: number;
  quarantined: number;
  ignoredColumns: string[];
}

const BATCH = 10_000;

class BadValue extends Error {
  constructor(
    readonly field: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Converts one text field to the column's type; empty means NULL (the OMOP CSV convention). */
export function convertField(text: string, column: CdmColumnSpec): SqlValue {
  if (text === '') {
    if (column.isRequired) throw new BadValue(column.name, `${column.name} is required`);
    return null;
  }
  const type = column.sqlType;
  if (type === 'integer') {
    if (!/^-?\d+(\.0+)?$/.test(text))
      throw new BadValue(column.name, `${column.name}: "${text}" is not an integer`);
    return Number.parseInt(text, 10);
  }
  if (type === 'numeric') {
    const n = Number(text);
    if (!Number.isFinite(n)) throw new BadValue(column.name, `${column.name}: "${text}" is not a number`);
    return n;
  }
  if (type === 'date' || type === 'timestamp') {
    // Athena writes YYYYMMDD; OMOP CSV exports write ISO dates and "YYYY-MM-DD HH:MM:SS".
    const iso = /^\d{8}$/.test(text) ? `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}` : text;
    const m =
      /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso);
    const date = m ? new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`) : undefined;
    if (
      !m ||
      !date ||
      Number.isNaN(date.getTime()) ||
      date.toISOString().slice(0, 10) !== `${m[1]}-${m[2]}-${m[3]}`
    ) {
      throw new BadValue(column.name, `${column.name}: "${text}" is not a date`);
    }
    if (type === 'date') return `${m[1]}-${m[2]}-${m[3]}`;
    return `${m[1]}-${m[2]}-${m[3]} ${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] ?? ''}`;
  }
  return text;
}

export async function loadTableFile(
  store: SiteStore,
  table: CdmTableSpec,
  file: string,
  options: { quarantine: Quarantine; onBytes?: (bytes: number) => void },
): Promise<TableLoadResult> {
  const records = readDelimited(file, options.onBytes ? { onBytes: options.onBytes } : {});
  const header = await records.next();
  if (header.done)
    return { table: table.name, file, rowsRead: 0, rowsAdded: 0, quarantined: 0, ignoredColumns: [] };
  const names = header.value.fields.map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
  const columns = names.map((n) => table.columns.find((c) => c.name === n));
  const missing = table.columns.filter((c) => c.isRequired && !names.includes(c.name)).map((c) => c.name);
  if (missing.length) {
    throw new ItdaError(
      'validation_failed',
      `${file}: required column(s) of ${table.name} missing: ${missing.join(', ')}`,
      {
        file,
        missing,
      },
    );
  }
  const used = columns.flatMap((c, i) => (c ? [{ column: c, index: i }] : []));
  const ignoredColumns = names.filter((_, i) => !columns[i]);
  const columnNames = used.map((u) => u.column.name);
  const target = `${quoteIdent(store.cdmSchema)}.${quoteIdent(table.name)}`;
  const stageName = `stage_${table.name}`;
  const stage = `itda.${quoteIdent(stageName)}`;
  const list = columnNames.map(quoteIdent).join(', ');
  let rowsRead = 0;
  let quarantined = 0;

  const rowsAdded = await store.transaction(async (tx) => {
    await tx.run(`DROP TABLE IF EXISTS ${stage}`);
    await tx.run(`CREATE TABLE ${stage} AS SELECT * FROM ${target} LIMIT 0`);
    let batch: SqlValue[][] = [];
    for await (const record of records) {
      rowsRead++;
      try {
        if (record.fields.length !== names.length) {
          throw new BadValue(
            undefined,
            `has ${record.fields.length} fields where the header has ${names.length}`,
          );
        }
        batch.push(used.map((u) => convertField(record.fields[u.index]!, u.column)));
      } catch (error) {
        if (!(error instanceof BadValue)) throw error;
        quarantined++;
        options.quarantine.add({
          file,
          line: record.line,
          reason: error.message,
          ...(error.field ? { field: error.field } : {}),
        });
        continue;
      }
      if (batch.length >= BATCH) {
        await tx.appendRows('itda', stageName, columnNames, batch);
        batch = [];
      }
    }
    await tx.appendRows('itda', stageName, columnNames, batch);
    const [before] = await tx.all<{ n: number }>(`SELECT count(*) AS n FROM ${target}`);
    if (table.primaryKey && columnNames.includes(table.primaryKey)) {
      const key = quoteIdent(table.primaryKey);
      const [dupes] = await tx.all<{ n: number }>(
        `SELECT count(*) - count(DISTINCT ${key}) AS n FROM ${stage}`,
      );
      if (dupes!.n > 0) {
        throw new ItdaError(
          'validation_failed',
          `${file}: ${dupes!.n} rows repeat a ${table.primaryKey} already in the file`,
        );
      }
      await tx.run(`DELETE FROM ${target} WHERE ${key} IN (SELECT ${key} FROM ${stage})`);
      await tx.run(`INSERT INTO ${target} (${list}) SELECT ${list} FROM ${stage}`);
    } else {
      await tx.run(
        `INSERT INTO ${target} (${list}) SELECT ${list} FROM ${stage} EXCEPT ALL SELECT ${list} FROM ${target}`,
      );
    }
    await tx.run(`DROP TABLE ${stage}`);
    const [after] = await tx.all<{ n: number }>(`SELECT count(*) AS n FROM ${target}`);
    return after!.n - before!.n;
  });
  return { table: table.name, file, rowsRead, rowsAdded, quarantined, ignoredColumns };
}
