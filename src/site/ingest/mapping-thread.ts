/**
 * The main thread's side of `map-worker.ts`: starts the worker, sends it files and
 * vocabulary answers, and hands its messages out in order. A worker that fails or exits
 * fails every wait, so the file's open part rolls back and its committed parts are undone.
 */
import { Worker } from 'node:worker_threads';
import { ItdaError } from '../../protocol/errors.ts';
import type { FromWorker, ToWorker } from './map-worker-format.ts';

export class MappingThread {
  private readonly worker: Worker;
  private readonly inbox: FromWorker[] = [];
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor() {
    this.worker = new Worker(new URL('./map-worker-entry.js', import.meta.url));
    this.worker.on('message', (message: FromWorker) => {
      this.inbox.push(message);
      this.waiting?.();
    });
    this.worker.on('error', (error) => {
      this.failure = error;
      this.waiting?.();
    });
    this.worker.on('exit', (code) => {
      if (!this.closed) this.failure ??= new ItdaError('internal', `the mapping thread exited (${code})`);
      this.waiting?.();
    });
  }

  send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  /** The worker's next message. */
  async next(): Promise<FromWorker> {
    for (;;) {
      const message = this.inbox.shift();
      if (message) return message;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
      this.waiting = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
