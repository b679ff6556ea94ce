import { Alert, Button, Card, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { accessApi } from '../access-api.ts';
import type { User } from '../api.ts';
import { AppLink } from '../components/AppLink.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { StateBadge } from '../components/StateBadge.tsx';
import { useI18n } from '../i18n.tsx';
import { navigate } from '../router.ts';

/** My research applications (and, for reviewers, those of their sites); a researcher starts a new one here. */
export function ApplicationsPage({ user }: { user: User }) {
  const { t, language } = useI18n();
  const list = useQuery({ queryKey: ['applications'], queryFn: accessApi.applications });
  const create = useMutation({
    // A new draft starts with the empty lists and the default review mode, so leaving them as they are is a choice.
    mutationFn: () =>
      accessApi.create({
        title: '',
        members: [],
        datasetIds: [],
        siteIds: [],
        variables: { tables: [], conceptSets: [] },
        review: { mode: 'separate' },
      }),
    onSuccess: (view) => navigate(`/applications/${view.id}`),
  });
  const mayApply = user.roles.includes('researcher') || user.roles.includes('admin');
  return (
    <Stack gap="md" maw={1100}>
      <Group justify="space-between">
        <Title order={2}>{t('applications')}</Title>
        {mayApply && (
          <Button onClick={() => create.mutate()} loading={create.isPending}>
            {t('appNew')}
          </Button>
        )}
      </Group>
      {create.error && <Alert color="red">{create.error.message}</Alert>}
      <Card withBorder>
        {list.isPending ? (
          <Loader aria-label={t('loading')} />
        ) : list.isError ? (
          <LoadFailed error={list.error} />
        ) : list.data.applications.length === 0 ? (
          <Text c="dimmed">{t('appNone')}</Text>
        ) : (
          <Table highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('appTitle')}</Table.Th>
                <Table.Th>{t('status')}</Table.Th>
                <Table.Th>{t('appSites')}</Table.Th>
                <Table.Th>{t('appUpdatedAt')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.applications.map((a) => (
                <Table.Tr key={a.id} data-testid="application-row">
                  <Table.Td>
                    <AppLink href={`/applications/${a.id}`}>{a.title || t('appUntitled')}</AppLink>
                  </Table.Td>
                  <Table.Td>
                    <StateBadge state={a.state} />
                  </Table.Td>
                  <Table.Td>{a.siteIds.join(', ') || '—'}</Table.Td>
                  <Table.Td>{new Date(a.updatedAt).toLocaleString(language)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
    </Stack>
  );
}
