/** Calls to the hub's matching board and inbox; the types come from the hub's schemas. */
import type { NeedInputRaw, NeedResponseInput, NeedSummary, NeedView } from '../../src/protocol/matching.ts';
import type { InboxPage, NotificationView } from '../../src/protocol/notifications.ts';
import { request } from './api.ts';

export const matchingApi = {
  needs: () => request<{ needs: NeedSummary[] }>('GET', '/api/needs'),
  need: (id: string) => request<NeedView>('GET', `/api/needs/${encodeURIComponent(id)}`),
  post: (need: NeedInputRaw) => request<NeedView>('POST', '/api/needs', need),
  respond: (id: string, response: NeedResponseInput) =>
    request<NeedView>('POST', `/api/needs/${encodeURIComponent(id)}/responses`, response),
  close: (id: string) => request<NeedView>('POST', `/api/needs/${encodeURIComponent(id)}/close`),
  toApplication: (id: string) =>
    request<{ applicationId: string; need: NeedView }>(
      'POST',
      `/api/needs/${encodeURIComponent(id)}/application`,
    ),
};

export const inboxApi = {
  page: (limit: number, offset: number) =>
    request<InboxPage>('GET', `/api/notifications?limit=${limit}&offset=${offset}`),
  unread: () => request<{ unread: number }>('GET', '/api/notifications/unread-count'),
  read: (id: string) =>
    request<NotificationView>('POST', `/api/notifications/${encodeURIComponent(id)}/read`),
};
