/** Dates as whole days since 1970-01-01 (UTC): cheap to compare and to draw between. */
const MS_PER_DAY = 86_400_000;

export function toDay(iso: string): number {
  return Math.floor(Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) / MS_PER_DAY);
}

export function isoDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** ISO date-time at a minute of the day, in Korea Standard Time (+09:00). */
export function isoDateTime(day: number, minuteOfDay: number): string {
  const hh = String(Math.floor(minuteOfDay / 60)).padStart(2, '0');
  const mm = String(minuteOfDay % 60).padStart(2, '0');
  return `${isoDay(day)}T${hh}:${mm}:00+09:00`;
}

export function yearsBetween(fromDay: number, toDayNumber: number): number {
  return (toDayNumber - fromDay) / 365.25;
}
