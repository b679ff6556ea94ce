/**
 * The main thread's side of `map-worker.ts`: starts the worker, sends it files, answers its
 * vocabulary questions and hands its other messages out in order. A worker that fails or
 * exits fails every wait, so the file's open part rolls back and its committed parts are
 * undone.
 */
import { Worker } from 'node:worker_threads';
import { ItdaError } from '../../protocol/errors.ts';
import type { ConceptAnswer, FromWorker, ToWorker } from './map-worker-format.ts';

type Question = Extract<FromWorker, { type: 'codes' }>;
export type Answerer = (wanted: Question['wanted']) => Promise<ConceptAnswer>;

export class MappingThread {
  private readonly worker: Worker;
  private readonly inbox: FromWorker[] = [];
  private readonly questions: Question[] = [];
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  private answerer: Answerer | undefined;
  /** The questions being answered, settled when none is left or the answerer is withdrawn. */
  private answering: Promise<void> | undefined;

  constructor() {
    this.worker = new Worker(new URL('./map-worker-entry.js', import.meta.url));
    this.worker.on('message', (message: FromWorker) => {
      if (message.type === 'codes') {
        this.questions.push(message);
        this.answerQuestions();
        return;
      }
      this.inbox.push(message);
      this.waiting?.();
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new ItdaError('internal', `the mapping thread exited (${code})`));
      else this.waiting?.();
    });
  }

  send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  /**
   * Who answers the worker's vocabulary questions (in a transaction that stays open while
   * it may be asked), or `undefined` to stop before that transaction ends: resolves once no
   * answer is under way. A question asked meanwhile waits for the next answerer. Questions
   * are answered as they come, not after the batches posted before them, so the worker is
   * not held up while the main thread writes.
   */
  async answerWith(answerer: Answerer | undefined): Promise<void> {
    this.answerer = answerer;
    if (answerer) this.answerQuestions();
    else await this.answering;
  }

  private answerQuestions(): void {
    if (this.answering || !this.answerer || this.questions.length === 0) return;
    // Cleared in a callback, so after the assignment even when there is nothing to await.
    this.answering = this.answerAll().finally(() => {
      this.answering = undefined;
      this.answerQuestions();
    });
  }

  private async answerAll(): Promise<void> {
    try {
      for (let q = this.questions.shift(); q; q = this.answerer ? this.questions.shift() : undefined) {
        this.send({ type: 'concepts', answer: await this.answerer!(q.wanted) });
      }
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiting?.();
  }

  /** The worker's next message other than a question. */
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
