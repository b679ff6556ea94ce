import { Badge, Button, Card, Group, Loader, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { useI18n } from '../i18n.tsx';
import { inboxApi } from '../matching-api.ts';
import { navigate } from '../router.ts';

const PAGE = 20;

/** The header bell: unread notifications, refreshed every 15 seconds. */
export function InboxBell({ path }: { path: string }) {
  const { t } = useI18n();
  const unread = useQuery({
    queryKey: ['inbox', 'unread'],
    queryFn: inboxApi.unread,
    refetchInterval: 15_000,
  });
  const count = unread.data?.unread ?? 0;
  return (
    <Button
      component="a"
      href="/inbox"
      variant={path === '/inbox' ? 'light' : 'subtle'}
      size="xs"
      aria-label={t('inboxUnreadLabel').replace('{n}', String(count))}
      onClick={(e: React.MouseEvent) => {
        e.preventDefault();
        navigate('/inbox');
      }}
    >
      🔔 {t('inbox')}
      {count > 0 && (
        <Badge ml={6} size="sm" color="red" data-testid="inbox-unread">
          {count}
        </Badge>
      )}
    </Button>
  );
}

/** My notifications, unread first; opening one marks it read and follows its link. */
export function InboxPage() {
  const { t, language } = useI18n();
  const queryClient = useQueryClient();
  const [offset, setOffset] = useState(0);
  const page = useQuery({ queryKey: ['inbox', 'page', offset], queryFn: () => inboxApi.page(PAGE, offset) });
  const read = useMutation({
    mutationFn: inboxApi.read,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['inbox'] }),
  });
  return (
    <Stack gap="md" maw={900}>
      <Title order={2}>{t('inbox')}</Title>
      {page.isPending ? (
        <Loader aria-label={t('loading')} />
      ) : page.isError ? (
        <LoadFailed error={page.error} />
      ) : page.data.items.length === 0 ? (
        <Text c="dimmed">{t('inboxEmpty')}</Text>
      ) : (
        <>
          <Text size="sm" c="dimmed">
            {t('inboxCounts')
              .replace('{unread}', String(page.data.unread))
              .replace('{total}', String(page.data.total))}
          </Text>
          {page.data.items.map((n) => (
            <Card key={n.id} withBorder data-testid="notification" data-read={n.readAt ? 'yes' : 'no'}>
              <Group justify="space-between" align="flex-start">
                <Stack gap={4}>
                  <Group gap="xs">
                    {!n.readAt && (
                      <Badge size="xs" color="red">
                        {t('inboxNew')}
                      </Badge>
                    )}
                    <Text fw={600}>{n.title[language]}</Text>
                  </Group>
                  <Text size="sm">{n.body}</Text>
                  <Text size="xs" c="dimmed">
                    {new Date(n.createdAt).toLocaleString(language === 'ko' ? 'ko-KR' : 'en-GB')}
                  </Text>
                </Stack>
                <Group gap="xs">
                  {n.link && (
                    <Button
                      size="xs"
                      variant="light"
                      onClick={() => {
                        if (!n.readAt) read.mutate(n.id);
                        navigate(n.link!);
                      }}
                    >
                      {t('inboxOpen')}
                    </Button>
                  )}
                  {!n.readAt && (
                    <Button size="xs" variant="subtle" onClick={() => read.mutate(n.id)}>
                      {t('inboxMarkRead')}
                    </Button>
                  )}
                </Group>
              </Group>
            </Card>
          ))}
          <Group>
            <Button
              variant="default"
              size="xs"
              disabled={offset === 0}
              onClick={() => setOffset(offset - PAGE)}
            >
              {t('inboxNewer')}
            </Button>
            <Button
              variant="default"
              size="xs"
              disabled={offset + PAGE >= page.data.total}
              onClick={() => setOffset(offset + PAGE)}
            >
              {t('inboxOlder')}
            </Button>
          </Group>
        </>
      )}
    </Stack>
  );
}
