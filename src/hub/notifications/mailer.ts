/**
 * Notification e-mail over SMTP (ITDA_SMTP_URL, ITDA_SMTP_FROM). The notification table
 * is the outbox: `notify` only writes rows, and this mailer sends the due ones after the
 * writing transaction has committed. A failed send is logged and retried with a growing
 * delay, so a mail server that is down never fails the request that caused the mail.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpConfig } from '../config.ts';
import type { HubContext } from '../context.ts';
import { claimDueEmails, type DueEmail, markEmailFailed, markEmailSent } from './store.ts';

/** Attempts before an e-mail is given up (marked failed); the inbox entry stays. */
export const MAX_EMAIL_ATTEMPTS = 8;
const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 60 * 60_000;
/** How long a claimed e-mail is held by one sender before another may try it. */
const LEASE_MS = 5 * 60_000;
const BATCH = 20;
const SWEEP_MS = 30_000;

/** Delay before attempt `attempts + 1`: 30 s, 1 min, 2 min, … capped at an hour. */
export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS);
}

export class Mailer {
  private readonly transport: Transporter;
  private sweep: NodeJS.Timeout | undefined;
  private kickTimer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: HubContext,
    private readonly smtp: SmtpConfig,
  ) {
    this.transport = nodemailer.createTransport(smtp.url);
  }

  /** Sends every due e-mail once; returns how many were sent and how many failed. */
  deliverDue(now = new Date()): Promise<{ sent: number; failed: number }> {
    const run = this.running.then(() => this.deliverBatch(now));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async deliverBatch(now: Date): Promise<{ sent: number; failed: number }> {
    let sent = 0;
    let failed = 0;
    for (;;) {
      const due = await claimDueEmails(this.ctx.db, now, BATCH, LEASE_MS);
      if (due.length === 0) return { sent, failed };
      for (const email of due) {
        if (await this.send(email)) sent++;
        else failed++;
      }
      if (due.length < BATCH) return { sent, failed };
    }
  }

  private async send(email: DueEmail): Promise<boolean> {
    try {
      await this.transport.sendMail({
        from: this.smtp.from,
        to: email.email,
        subject: `${email.title_ko} / ${email.title_en}`,
        text: [email.body, email.link ? `\n${email.link}` : ''].join(''),
      });
      await markEmailSent(this.ctx.db, email.id);
      return true;
    } catch (error) {
      const attempts = email.email_attempts + 1;
      const message = error instanceof Error ? error.message : String(error);
      const nextAt = attempts >= MAX_EMAIL_ATTEMPTS ? null : new Date(Date.now() + retryDelayMs(attempts));
      this.ctx.log.warn(
        { notificationId: email.id, attempts, err: message, retryAt: nextAt?.toISOString() ?? null },
        'notification e-mail not sent',
      );
      await markEmailFailed(this.ctx.db, email.id, attempts, message, nextAt);
      return false;
    }
  }

  /** Soon after a notification is written (its transaction has usually committed by then). */
  kick(): void {
    if (this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      this.deliverDue().catch((error: unknown) =>
        this.ctx.log.warn({ err: error }, 'notification e-mail run failed'),
      );
    }, 200);
    this.kickTimer.unref();
  }

  start(): void {
    this.sweep = setInterval(() => this.kick(), SWEEP_MS);
    this.sweep.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweep);
    clearTimeout(this.kickTimer);
    this.kickTimer = undefined;
    await this.running;
    this.transport.close();
  }
}

// One mailer per running hub; keyed by its context so libraries stay free of globals.
const mailers = new WeakMap<HubContext, Mailer>();

export function mailerOf(ctx: HubContext): Mailer | undefined {
  return mailers.get(ctx);
}

/** Starts the hub's mailer when SMTP is configured. */
export function startMailer(ctx: HubContext): Mailer | undefined {
  if (!ctx.config.smtp || mailers.has(ctx)) return mailers.get(ctx);
  const mailer = new Mailer(ctx, ctx.config.smtp);
  mailers.set(ctx, mailer);
  mailer.start();
  return mailer;
}

export async function stopMailer(ctx: HubContext): Promise<void> {
  const mailer = mailers.get(ctx);
  mailers.delete(ctx);
  await mailer?.stop();
}
