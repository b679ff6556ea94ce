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
