import { Anchor, Badge, Card, Group, Loader, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import type { HealthSite } from '../../../src/protocol/wire.ts';
import { api } from '../api.ts';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { navigate } from '../router.ts';

function useAgo() {
  const { t } = useI18n();
  return (iso: string | null) => {
    if (!iso) return t('never');
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 60) return t('secondsAgo', { n: seconds });
    if (seconds < 3600) return t('minutesAgo', { n: Math.round(seconds / 60) });
    return t('hoursAgo', { n: Math.round(seconds / 3600) });
  };
}

function SiteRow({ site }: { site: HealthSite }) {
  const { t } = useI18n();
  const ago = useAgo();
  return (
    <Table.Tr data-testid="site-row" data-site-id={site.id} data-connected={String(site.connected)}>
      <Table.Td>
        <Anchor
          href={`/sites/${site.id}`}
          onClick={(e) => {
            e.preventDefault();
            navigate(`/sites/${site.id}`);
          }}
        >
          {site.name}
        </Anchor>
      </Table.Td>
      <Table.Td>
        <Text ff="monospace" size="sm">
          {site.id}
        </Text>
      </Table.Td>
      <Table.Td>{t(site.status as MessageKey)}</Table.Td>
      <Table.Td>
        <Badge color={site.connected ? 'teal' : 'gray'} variant="light">
          {site.connected ? t('connected') : t('offline')}
        </Badge>
      </Table.Td>
      <Table.Td>{ago(site.lastSeenAt)}</Table.Td>
    </Table.Tr>
  );
}

export function DashboardPage() {
  const { t } = useI18n();
  const health = useQuery({ queryKey: ['health'], queryFn: api.health, refetchInterval: 5000 });

  if (health.isPending) return <Loader aria-label={t('loading')} />;
  if (health.isError) {
    return <LoadFailed error={health.error} />;
  }
  const { sites, version, database } = health.data;
  const connected = sites.filter((s) => s.connected).length;
  return (
    <Stack>
      <Title order={2}>{t('dashboard')}</Title>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            {t('connectedSites')}
          </Text>
          <Text size="xl" fw={700} data-testid="connected-count">
            {connected} / {sites.length}
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            {t('hubVersion')}
          </Text>
          <Text size="xl" fw={700}>
            {version}
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            {t('database')}
          </Text>
          <Text size="xl" fw={700}>
            {database === 'pglite' ? 'PGlite' : 'PostgreSQL'}
          </Text>
        </Card>
      </SimpleGrid>
      <Card withBorder>
        <Group justify="space-between" mb="sm">
          <Title order={4}>{t('sites')}</Title>
        </Group>
        {sites.length === 0 ? (
          <Text c="dimmed">{t('noSites')}</Text>
        ) : (
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('site')}</Table.Th>
                <Table.Th>{t('siteId')}</Table.Th>
                <Table.Th>{t('status')}</Table.Th>
                <Table.Th>{t('connection')}</Table.Th>
                <Table.Th>{t('lastSeen')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {sites.map((site) => (
                <SiteRow key={site.id} site={site} />
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
    </Stack>
  );
}
