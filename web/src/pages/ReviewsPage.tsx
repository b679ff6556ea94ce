import { Badge, Card, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useQueries, useQuery } from '@tanstack/react-query';
import { accessApi } from '../access-api.ts';
import { api, type User } from '../api.ts';
import { AppLink } from '../components/AppLink.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { type MessageKey, useI18n } from '../i18n.tsx';

/** The sites whose reviews the user reads: DRB seats and stewardships; an admin reads every site's. */
export function reviewSitesOf(user: User, allSiteIds: readonly string[]): string[] {
  if (user.roles.includes('admin')) return [...allSiteIds];
  return [...new Set(user.siteRoles.map((r) => r.siteId))];
}

/** The DRB inbox: every review of the user's sites, undecided first. */
export function ReviewsPage({ user }: { user: User }) {
  const { t, language } = useI18n();
  const health = useQuery({ queryKey: ['health'], queryFn: api.health });
  const siteIds = reviewSitesOf(
    user,
    (health.data?.sites ?? []).map((s) => s.id),
  );
  const inboxes = useQueries({
    queries: siteIds.map((siteId) => ({
      queryKey: ['site-reviews', siteId],
      queryFn: () => accessApi.siteReviews(siteId),
    })),
  });
  const applications = useQuery({ queryKey: ['applications'], queryFn: accessApi.applications });
  const titles = new Map((applications.data?.applications ?? []).map((a) => [a.id, a.title]));
  const reviews = inboxes
    .flatMap((q) => q.data?.reviews ?? [])
    .sort(
      (a, b) =>
        Number(a.decision !== 'pending') - Number(b.decision !== 'pending') ||
        (b.decidedAt ?? '').localeCompare(a.decidedAt ?? ''),
    );
  const failed = inboxes.find((q) => q.isError);
  return (
    <Stack gap="md" maw={1100}>
      <Title order={2}>{t('reviewInbox')}</Title>
      {siteIds.length === 0 && <Text c="dimmed">{t('revNoSites')}</Text>}
      {failed?.error && <LoadFailed error={failed.error} />}
      <Card withBorder>
        {health.isPending || inboxes.some((q) => q.isPending) ? (
          <Loader aria-label={t('loading')} />
        ) : reviews.length === 0 ? (
          <Text c="dimmed">{t('revNone')}</Text>
        ) : (
          <Table highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('appTitle')}</Table.Th>
                <Table.Th>{t('site')}</Table.Th>
                <Table.Th>{t('appRoundShort')}</Table.Th>
                <Table.Th>{t('revDuo')}</Table.Th>
                <Table.Th>{t('revVotes')}</Table.Th>
                <Table.Th>{t('revDecision')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {reviews.map((r) => (
                <Table.Tr key={r.id} data-testid="review-row" data-site={r.siteId}>
                  <Table.Td>
                    <AppLink href={`/reviews/${r.id}`}>
                      {titles.get(r.applicationId) || r.applicationId.slice(0, 8)}
                    </AppLink>
                  </Table.Td>
                  <Table.Td>{r.siteId}</Table.Td>
                  <Table.Td>{r.round}</Table.Td>
                  <Table.Td>
                    <DuoBadge status={r.duo.status} />
                  </Table.Td>
                  <Table.Td>
                    {t('revVoteCount', { n: r.votes?.length ?? 0, quorum: r.quorum ?? '—' })}
                  </Table.Td>
                  <Table.Td>
                    {t(`decision_${r.decision}` as MessageKey)}
                    {r.decidedAt ? ` · ${new Date(r.decidedAt).toLocaleDateString(language)}` : ''}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
    </Stack>
  );
}

const DUO_COLORS = { compatible: 'teal', needs_review: 'yellow', conflict: 'red' } as const;

export function DuoBadge({ status }: { status: keyof typeof DUO_COLORS }) {
  const { t } = useI18n();
  return (
    <Badge color={DUO_COLORS[status]} variant="light" data-testid="duo-status" data-status={status}>
      {t(`duo_${status}` as MessageKey)}
    </Badge>
  );
}
