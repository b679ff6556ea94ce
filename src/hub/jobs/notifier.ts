/**
 * Wakes long-polling sites when a task is queued for them. In-process only; a poll
 * also re-checks the database every few seconds, so a second hub process sharing the
 * same PostgreSQL still delivers (just less promptly).
 */
import { EventEmitter } from 'node:events';

export class TaskNotifier {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  notify(siteId: string): void {
    this.emitter.emit(siteId);
  }

  /** Resolves on a notification for the site, after `ms`, or when `signal` aborts. */
  wait(siteId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(siteId, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.once(siteId, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
