/** Dates as whole days since 1970-01-01 (UTC): cheap to compare and to draw between. */
const MS_PER_DAY = 86_400_000;

/** Day number of an ISO date (its first 10 characters). */
export function toDay(iso: string): number {
  return Math.floor(Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) / MS_PER_DAY);
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/**
 * YYYY-MM-DD of a day number (years 0–9999). Pure arithmetic (the civil-from-days
 * algorithm of H. Hinnant) because this runs for nearly every resource and building a
 * Date for it was a tenth of generation time.
 */
export function isoDay(day: number): string {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const dayOfMonth = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${TWO_DIGITS[month]}-${TWO_DIGITS[dayOfMonth]}`;
}

/** ISO date-time at a minute of the day, in Korea Standard Time (+09:00). */
export function isoDateTime(day: number, minuteOfDay: number): string {
  return `${isoDay(day)}T${TWO_DIGITS[Math.floor(minuteOfDay / 60)]}:${TWO_DIGITS[minuteOfDay % 60]}:00+09:00`;
}

/** Years (of 365.25 days) from one day number to another. */
export function yearsBetween(fromDay: number, toDayNumber: number): number {
  return (toDayNumber - fromDay) / 365.25;
}
