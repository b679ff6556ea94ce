/**
 * FHIR R4 `date` / `dateTime` / `instant` (http://hl7.org/fhir/R4/datatypes.html#dateTime) to
 * OMOP CDM v5.4 DATE and DATETIME values.
 *
 * Wall clock, not UTC: a timestamp keeps the local time the hospital recorded and drops the
 * offset (`2017-11-02T03:30:00+05:00` → `2017-11-02T03:30:00`). A Korean site records in
 * +09:00; converting to UTC would move every event before 09:00 to the previous calendar day,
 * and the visit, its labs and its notes would no longer share a date.
 */

export interface OmopDate {
  /** `YYYY-MM-DD`; a partial FHIR date is completed with the first month/day. */
  date: string;
  /** `YYYY-MM-DDTHH:MM:SS`; midnight when the source had no time. */
  datetime: string;
  precision: 'year' | 'month' | 'day' | 'time';
  year: number;
  month: number | null;
  day: number | null;
}

export type ParsedDate = { ok: true; value: OmopDate } | { ok: false; detail: string };

/** Years outside this range are typing errors, not clinical history. */
const MIN_YEAR = 1800;
const MAX_YEAR = 2200;

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * Parse a FHIR R4 date, dateTime or instant. Fails (never throws) on text that is not one,
 * or on a calendar-impossible value such as `2021-02-30` or `24:10`.
 */
export function parseFhirDateTime(text: unknown): ParsedDate {
  if (typeof text !== 'string') return { ok: false, detail: 'not a string' };
  const match = DATE_TIME.exec(text.trim());
  if (!match) return { ok: false, detail: `not a FHIR dateTime: ${JSON.stringify(text).slice(0, 60)}` };
  const [, y, mo, d, h, mi, s] = match;
  const year = Number(y);
  if (year < MIN_YEAR || year > MAX_YEAR) return { ok: false, detail: `year ${year} out of range` };
  const month = mo === undefined ? null : Number(mo);
  if (month !== null && (month < 1 || month > 12)) return { ok: false, detail: `month ${mo} in ${text}` };
  const day = d === undefined ? null : Number(d);
  if (day !== null && (day < 1 || day > daysInMonth(year, month!))) {
    return { ok: false, detail: `day ${d} does not exist in ${y}-${mo}` };
  }
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  // FHIR allows a leap second (":60"); OMOP timestamps do not.
  const second = s === undefined ? 0 : Math.min(Number(s), 59);
  if (hour > 23 || minute > 59) return { ok: false, detail: `time ${h}:${mi} in ${text}` };
  const date = `${y}-${pad(month ?? 1)}-${pad(day ?? 1)}`;
  return {
    ok: true,
    value: {
      date,
      datetime: `${date}T${pad(hour)}:${pad(minute)}:${pad(second)}`,
      precision: h !== undefined ? 'time' : day !== null ? 'day' : month !== null ? 'month' : 'year',
      year,
      month,
      day,
    },
  };
}

/** Whole days from `a` to `b` (both `YYYY-MM-DD`). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** `date` (`YYYY-MM-DD`) plus `days`. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}
