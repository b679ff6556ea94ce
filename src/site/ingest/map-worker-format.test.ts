/** Rows cross from the mapping thread column by column; every value must arrive as it left. */
import { describe, expect, it } from 'vitest';
import type { OmopValue } from '../../fhir/types.ts';
import { columnValue, TableBuilder } from './map-worker-format.ts';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

describe('TableBuilder', () => {
  it('gives back every value of rows whose columns hold numbers, text, both, or nothing', () => {
    const next = random(7);
    const rows: Record<string, OmopValue>[] = [];
    // 3,000 rows: past the builders' first 1,024 slots, so growing is exercised too.
    for (let r = 0; r < 3000; r++) {
      const row: Record<string, OmopValue> = { id: r };
      if (next() < 0.7) row.date = `2020-01-${String(1 + (r % 28)).padStart(2, '0')}`;
      if (next() < 0.5) row.value = next() < 0.5 ? null : next() * 100;
      // Text first, a number later: the column turns mixed part-way.
      if (next() < 0.6) row.source = r < 1500 ? `code-${r % 17}` : r % 3 === 0 ? r : `late-${r}`;
      if (r === 2999) row.last = 'only here';
      rows.push(row);
    }
    const builder = new TableBuilder('measurement');
    for (const row of rows) builder.add(row);
    const table = builder.finish();
    expect(table.rows).toBe(rows.length);
    const firstSeen = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    expect(table.columns).toEqual(firstSeen);
    const kinds = Object.fromEntries(table.columns.map((column, c) => [column, table.values[c]!.kind]));
    expect(kinds).toEqual({ id: 'number', date: 'text', value: 'number', source: 'mixed', last: 'text' });
    for (let r = 0; r < rows.length; r++) {
      table.columns.forEach((column, c) => {
        expect(columnValue(table.values[c]!, r)).toBe(rows[r]![column] ?? null);
      });
    }
  });

  it('keeps a column that only ever held null', () => {
    const builder = new TableBuilder('note');
    builder.add({ note_id: 1, note_title: null });
    builder.add({ note_id: 2 });
    const table = builder.finish();
    expect(table.columns).toEqual(['note_id', 'note_title']);
    expect([0, 1].map((r) => columnValue(table.values[1]!, r))).toEqual([null, null]);
  });
});
