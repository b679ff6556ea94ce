/**
 * How every command ends: an ItdaError prints its message and exits non-zero; anything
 * else prints a short line (the stack only with ITDA_DEBUG) and exits non-zero.
 */
import { ItdaError } from '../protocol/errors.ts';

export function reportError(error: unknown): number {
  if (error instanceof ItdaError) {
    process.stderr.write(`error: ${error.message}\n`);
    return error.code === 'unsupported' ? 2 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.ITDA_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return 1;
}

/** Wraps a command action so its failure becomes a message and an exit code. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      process.exitCode = reportError(error);
    }
  };
}

/**
 * Runs until SIGINT/SIGTERM, then calls `stop` once. A second signal exits at once, so
 * a stuck shutdown never traps the user.
 */
export function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`\n${signal} again: exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stderr.write(`\n${signal}: shutting down…\n`);
      stop()
        .catch((error: unknown) => {
          process.exitCode = reportError(error);
        })
        .finally(() => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve();
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
