/** What the inbox API answers; the web app takes these types from here. */
import { z } from 'zod';

export const notificationViewSchema = z.object({
  id: z.string(),
  kind: z.string(),
  title: z.object({ ko: z.string(), en: z.string() }),
  body: z.string(),
  /** A path in the web app (e.g. /applications/…), or null. */
  link: z.string().nullable(),
  createdAt: z.string(),
  readAt: z.string().nullable(),
});
export type NotificationView = z.infer<typeof notificationViewSchema>;

export const inboxQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).default(0),
});

export const inboxPageSchema = z.object({
  total: z.number().int(),
  unread: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  items: z.array(notificationViewSchema),
});
export type InboxPage = z.infer<typeof inboxPageSchema>;
