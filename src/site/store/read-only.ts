/**
 * Read-only SQL on the site store, for stewards and tests: any statement that would
 * change data is refused by the database itself (DuckDB opened read-only; PostgreSQL in
 * a READ ONLY transaction), not by guessing from the SQL text.
 */
import { ItdaError } from '../../protocol/errors.ts';
import type { Row, SiteStore } from './store.ts';

export async function readOnlyQuery(store: SiteStore, sql: string): Promise<Row[]> {
  try {
    if (store.kind === 'postgres') {
      return await store.transaction(async (tx) => {
        await tx.run('SET TRANSACTION READ ONLY');
        return tx.all(sql);
      });
    }
    return await store.all(sql);
  } catch (error) {
    const message = (error as Error).message;
    if (/read-only|read only/i.test(message)) {
      throw new ItdaError('forbidden', `the site store is read-only here: ${message.split('\n')[0]}`);
    }
    throw new ItdaError('bad_request', `query failed: ${message.split('\n')[0]}`);
  }
}
