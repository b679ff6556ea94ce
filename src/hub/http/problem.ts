/**
 * One error handler for the whole hub: ItdaError codes map to HTTP statuses and every
 * error answers RFC 9457 application/problem+json. A 5xx never echoes internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import {
  ERROR_STATUS,
  type ErrorCode,
  ItdaError,
  type Problem,
  problemTypeUri,
} from '../../protocol/errors.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemFor(error: ItdaError, instance?: string): Problem {
  return {
    type: problemTypeUri(error.code),
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(instance ? { instance } : {}),
    ...(error.details ?? {}),
  };
}

export function sendProblem(reply: FastifyReply, error: ItdaError, instance?: string): FastifyReply {
  const retryAfter = error.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  return reply.code(error.status).type('application/problem+json').send(problemFor(error, instance));
}

/** Turns anything thrown in a route into an ItdaError, keeping internals out of 5xx answers. */
export function toItdaError(error: unknown, request: FastifyRequest): ItdaError {
  if (error instanceof ItdaError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      where: `${error.validationContext ?? 'request'}${v.instancePath}`,
      message: v.message,
    }));
    const first = issues[0];
    return new ItdaError(
      'validation_failed',
      first ? `${first.where}: ${first.message}` : 'request does not match the schema',
      { issues },
    );
  }
  if (isResponseSerializationError(error)) {
    request.log.error({ err: error }, 'reply did not match its schema');
    return new ItdaError('internal', 'the server could not produce a valid reply');
  }
  const fastifyError = error as FastifyError;
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    const code =
      (Object.keys(ERROR_STATUS) as ErrorCode[]).find((c) => ERROR_STATUS[c] === status) ?? 'bad_request';
    return new ItdaError(code, fastifyError.message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return new ItdaError('internal', 'an unexpected error occurred; it has been logged');
}

export function installProblemHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) =>
    sendProblem(reply, toItdaError(error, request), request.url),
  );
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/api/')) {
      return sendProblem(
        reply,
        new ItdaError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
      );
    }
    return reply.code(404).type('text/plain').send('Not found');
  });
}
