import { Loader, Text, Timeline } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { accessApi, type HistoryEvent } from '../access-api.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { formatBytes } from './AttachmentTable.tsx';
import { LoadFailed } from './LoadFailed.tsx';

/** The application's history from the hub's audit log; consecutive autosaves are shown as one. */
export function ApplicationTimeline({ id }: { id: string }) {
  const { t, language } = useI18n();
  const history = useQuery({ queryKey: ['application-history', id], queryFn: () => accessApi.history(id) });
  if (history.isPending) return <Loader size="sm" aria-label={t('loading')} />;
  if (history.isError) return <LoadFailed error={history.error} />;
  const events: (HistoryEvent & { times: number })[] = [];
  for (const event of history.data.events) {
    const last = events.at(-1);
    if (last && last.action === 'application.edit' && event.action === 'application.edit') {
      last.times += 1;
      last.fields = [...new Set([...(last.fields ?? []), ...(event.fields ?? [])])].sort();
      last.at = event.at;
    } else events.push({ ...event, times: 1 });
  }
  const title = (e: HistoryEvent) => {
    if (e.from && e.to) return `${t(`state_${e.from}` as MessageKey)} → ${t(`state_${e.to}` as MessageKey)}`;
    if (e.action === 'application.create') return t('evCreated');
    if (e.action === 'application.edit') return t('evEdited');
    if (e.action === 'attachment.upload') return t('evUploaded');
    return e.action;
  };
  return (
    <Timeline active={events.length - 1} bulletSize={14} lineWidth={2} data-testid="timeline">
      {events.map((e) => (
        <Timeline.Item key={e.seq} title={title(e)} data-testid="timeline-item" data-action={e.action}>
          <Text size="xs" c="dimmed">
            {new Date(e.at).toLocaleString(language)}
            {e.actorType === 'system' ? ` · ${t('evByHub')}` : ''}
            {e.round ? ` · ${t('appRound', { n: e.round })}` : ''}
          </Text>
          {e.action === 'application.edit' && (
            <Text size="xs">{t('evEditedFields', { n: e.times, fields: (e.fields ?? []).join(', ') })}</Text>
          )}
          {e.attachment && (
            <Text size="xs">
              {t(`attachment_${e.attachment.kind}` as MessageKey)} · {formatBytes(e.attachment.size)} ·{' '}
              <code>{e.attachment.sha256.slice(0, 16)}…</code>
            </Text>
          )}
        </Timeline.Item>
      ))}
    </Timeline>
  );
}
