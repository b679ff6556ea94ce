import { ItdaError } from '../../src/protocol/errors.ts';

/** The ItdaError code a promise rejects with, or 'ok'; any other error is rethrown. */
export async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error instanceof ItdaError) return error.code;
    throw error;
  }
}
