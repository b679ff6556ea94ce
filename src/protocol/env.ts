import type { z } from 'zod';
import { ItdaError } from './errors.ts';

/** Parses environment variables with a zod schema; the first bad one becomes a clear error. */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ItdaError('validation_failed', `${variable}: ${issue?.message ?? 'invalid value'}`, {
      variable,
    });
  }
  return parsed.data;
}

/** A connection URL safe to print: the password, if any, replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
