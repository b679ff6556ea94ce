/**
 * Outbound-only HTTP to the hub, every request signed with the site's key.
 * A hospital firewall needs no inbound rule.
 */
import type { KeyObject } from 'node:crypto';
import { ERROR_STATUS, type ErrorCode, ItdaError } from '../../protocol/errors.ts';
import { signRequest } from '../../protocol/signing.ts';

export class HubClient {
  constructor(
    private readonly hubUrl: string,
    private readonly siteId: string,
    private readonly privateKey: KeyObject,
  ) {}

  async request<T>(
    method: 'GET' | 'POST' | 'PUT',
    pathAndQuery: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = {
      ...signRequest(this.privateKey, { method, path: pathAndQuery, body: text, siteId: this.siteId }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    let response: Response;
    try {
      response = await fetch(`${this.hubUrl}${pathAndQuery}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: text }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ItdaError('unavailable', `hub ${this.hubUrl} unreachable: ${(error as Error).message}`);
    }
    if (response.status === 204) return undefined as T;
    const payload = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!response.ok) {
      const code = (payload?.code as ErrorCode | undefined) ?? 'internal';
      throw new ItdaError(
        code in ERROR_STATUS ? code : 'internal',
        String(payload?.detail ?? `hub answered ${response.status}`),
      );
    }
    return payload as T;
  }
}
