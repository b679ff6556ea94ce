import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Loader,
  NativeSelect,
  SimpleGrid,
  Spoiler,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { Vote } from '../../../src/protocol/access.ts';
import { type ApplicationView, accessApi, type ReviewDetail } from '../access-api.ts';
import type { User } from '../api.ts';
import { AppLink } from '../components/AppLink.tsx';
import { AttachmentTable } from '../components/AttachmentTable.tsx';
import { FeasibilityResults } from '../components/FeasibilityResults.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { StateBadge } from '../components/StateBadge.tsx';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { DuoBadge } from './ReviewsPage.tsx';

/** One site's review: the application, the DUO check, the votes and quorum, and the member's vote. */
export function ReviewPage({ id, user }: { id: string; user: User }) {
  const { t } = useI18n();
  const review = useQuery({ queryKey: ['review', id], queryFn: () => accessApi.review(id) });
  const drb = useQuery({
    queryKey: ['drb', review.data?.siteId],
    queryFn: () => accessApi.drb(review.data!.siteId),
    enabled: review.isSuccess,
  });
  if (review.isPending) return <Loader aria-label={t('loading')} />;
  if (review.isError) return <LoadFailed error={review.error} />;
  const r = review.data;
  const names = new Map((drb.data?.members ?? []).map((m) => [m.userId, m.name]));
  const isMember = names.has(user.id);
  return (
    <Stack gap="md" maw={1100}>
      <AppLink href="/reviews">{t('revBackToInbox')}</AppLink>
      <Group justify="space-between">
        <Title order={2}>{r.application.title || t('appUntitled')}</Title>
        <Group gap="xs">
          <Badge variant="outline">{r.siteId}</Badge>
          <StateBadge state={r.application.state} />
          <Badge data-testid="review-decision" data-decision={r.decision}>
            {t(`decision_${r.decision}` as MessageKey)}
          </Badge>
        </Group>
      </Group>
      <ApplicationSummary application={r.application} />
      <FeasibilityCard application={r.application} />
      <DuoCard review={r} />
      <VotesCard review={r} names={names} />
      {isMember && <ReviewActions review={r} userId={user.id} />}
    </Stack>
  );
}

/** Every vote the hub takes (the type makes the list complete), with its label. */
const VOTE_LABELS = {
  approve: 'vote_approve',
  approve_with_conditions: 'vote_approve_with_conditions',
  reject: 'vote_reject',
} as const satisfies Record<Vote, MessageKey>;

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
        {children}
      </Text>
    </div>
  );
}

function ApplicationSummary({ application }: { application: ApplicationView }) {
  const { t } = useI18n();
  const c = application.content;
  const use = c.intendedUse;
  const flags = use
    ? (['commercial', 'forProfitOrganisation', 'methodsResearch', 'geneticStudy'] as const)
        .filter((f) => use[f])
        .map((f) => t(`appUse_${f}` as MessageKey))
    : [];
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('revApplication')}
      </Title>
      <Stack gap="sm">
        <Field label={t('appPurpose')}>{c.purpose || '—'}</Field>
        <Field label={t('appResearchQuestion')}>{c.researchQuestion || '—'}</Field>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <Field label={t('appDuoPurpose')}>
            {use ? t(`duo${use.purpose}` as MessageKey) : '—'}
            {use?.diseaseConceptIds.length ? ` (${use.diseaseConceptIds.join(', ')})` : ''}
            {flags.length ? ` · ${flags.join(', ')}` : ''}
          </Field>
          <Field label={t('appSites')}>{(c.siteIds ?? []).join(', ') || '—'}</Field>
          <Field label={t('appDatasets')}>{(c.datasetIds ?? []).join(', ') || '—'}</Field>
          <Field label={t('appPeriodStart')}>{c.period ? `${c.period.start} – ${c.period.end}` : '—'}</Field>
          <Field label={t('appAnalysisMode')}>
            {c.analysisMode ? t(`appMode_${c.analysisMode}` as MessageKey) : '—'}
          </Field>
          <Field label={t('appReviewMode')}>
            {c.review?.mode === 'joint'
              ? `${t('appReviewJoint')} (${c.review.leadSiteId ?? '—'})`
              : t('appReviewSeparate')}
          </Field>
          <Field label={t('appIrb')}>
            {c.irb
              ? `${c.irb.number} · ${c.irb.institution} · ${c.irb.approvedOn} – ${c.irb.expiresOn}`
              : '—'}
          </Field>
          <Field label={t('appMembers')}>
            {(c.members ?? []).map((m) => `${m.name} (${t(`appRole_${m.role}` as MessageKey)})`).join(', ') ||
              '—'}
          </Field>
          <Field label={t('appTables')}>{(c.variables?.tables ?? []).join(', ') || '—'}</Field>
        </SimpleGrid>
        <Field label={t('appDataManagementPlan')}>{c.dataManagementPlan || '—'}</Field>
        <Text size="xs" c="dimmed">
          {t('appCohort')} · SHA-256 <Code>{application.cohortHash ?? '—'}</Code>
        </Text>
        <Spoiler maxHeight={80} showLabel={t('showMore')} hideLabel={t('showLess')}>
          <Code block>{JSON.stringify(c.cohort ?? {}, null, 2)}</Code>
        </Spoiler>
        <AttachmentTable applicationId={application.id} attachments={application.attachments} />
      </Stack>
    </Card>
  );
}

/** The linked feasibility query's per-site counts and attrition, as the sites released them. */
function FeasibilityCard({ application }: { application: ApplicationView }) {
  const { t } = useI18n();
  const linked = Boolean(application.content.feasibilityQueryId);
  const counts = useQuery({
    queryKey: ['application-feasibility', application.id],
    queryFn: () => accessApi.applicationFeasibility(application.id),
    enabled: linked,
  });
  return (
    <Card withBorder data-testid="review-feasibility">
      <Title order={4} mb="sm">
        {t('revFeasibility')}
      </Title>
      {!linked ? (
        <Text size="sm" c="dimmed">
          {t('revFeasibilityNone')}
        </Text>
      ) : counts.isPending ? (
        <Loader size="sm" aria-label={t('loading')} />
      ) : counts.isError ? (
        <LoadFailed error={counts.error} />
      ) : (
        <Stack gap="xs">
          <FeasibilityResults view={counts.data} />
          <Text size="xs" c="dimmed">
            {t('revFeasibilityNote')}
          </Text>
        </Stack>
      )}
    </Card>
  );
}

function DuoCard({ review }: { review: ReviewDetail }) {
  const { t } = useI18n();
  return (
    <Card withBorder>
      <Group mb="sm">
        <Title order={4}>{t('revDuo')}</Title>
        <DuoBadge status={review.duo.status} />
      </Group>
      {review.duo.datasets.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('revDuoNoDatasets')}
        </Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('appDatasets')}</Table.Th>
              <Table.Th>{t('revDuo')}</Table.Th>
              <Table.Th>{t('revFindings')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {review.duo.datasets.map((d) => (
              <Table.Tr key={d.datasetId} data-testid="duo-dataset">
                <Table.Td>
                  <Code>{d.datasetId}</Code>
                </Table.Td>
                <Table.Td>
                  <DuoBadge status={d.status} />
                </Table.Td>
                <Table.Td>
                  {d.findings.map((f) => (
                    <Text key={`${f.term}-${f.message}`} size="xs">
                      <b>{f.term}</b> · {t(`duo_${f.status}` as MessageKey)} · {f.message}
                    </Text>
                  ))}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

function VotesCard({ review, names }: { review: ReviewDetail; names: Map<string, string> }) {
  const { t, language } = useI18n();
  const votes = review.votes ?? [];
  return (
    <Card withBorder>
      <Group mb="sm" justify="space-between">
        <Title order={4}>{t('revVotes')}</Title>
        <Text size="sm" data-testid="vote-count">
          {t('revQuorumLine', {
            n: votes.length,
            quorum: review.quorum ?? '—',
            members: review.members ?? '—',
          })}
        </Text>
      </Group>
      {review.jointRole !== 'own' && (
        <Text size="sm" mb="sm">
          {review.jointRole === 'lead'
            ? t('revJointLead')
            : review.jointChoice === 'accepted'
              ? t('revJointAccepted')
              : review.jointChoice === 'opted_out'
                ? t('revJointOptedOut')
                : t('revJointFollower')}
        </Text>
      )}
      {votes.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('revNoVotes')}
        </Text>
      ) : (
        <Table>
          <Table.Tbody>
            {votes.map((v) => (
              <Table.Tr key={v.userId} data-testid="vote-row">
                <Table.Td>{names.get(v.userId) ?? v.userId.slice(0, 8)}</Table.Td>
                <Table.Td>{t(VOTE_LABELS[v.vote as Vote])}</Table.Td>
                <Table.Td>{[v.comment, ...v.conditions].filter(Boolean).join(' · ') || '—'}</Table.Td>
                <Table.Td>{new Date(v.castAt).toLocaleString(language)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {review.conditions.length > 0 && (
        <Text size="sm" mt="sm">
          {t('revConditions')}: {review.conditions.join('; ')}
        </Text>
      )}
    </Card>
  );
}

function ReviewActions({ review, userId }: { review: ReviewDetail; userId: string }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [vote, setVote] = useState<Vote>('approve');
  const [comment, setComment] = useState('');
  const [conditions, setConditions] = useState('');
  const [returnComment, setReturnComment] = useState('');
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['review', review.id] });
    void queryClient.invalidateQueries({ queryKey: ['site-reviews', review.siteId] });
  };
  const cast = useMutation({
    mutationFn: () =>
      accessApi.vote(review.id, {
        vote,
        comment,
        conditions:
          vote === 'approve_with_conditions'
            ? conditions
                .split('\n')
                .map((c) => c.trim())
                .filter(Boolean)
            : [],
      }),
    onSuccess: refresh,
  });
  const joint = useMutation({
    mutationFn: (choice: 'accepted' | 'opted_out') => accessApi.joint(review.id, choice),
    onSuccess: refresh,
  });
  const sendBack = useMutation({
    mutationFn: () => accessApi.returnToApplicant(review.applicationId, returnComment),
    onSuccess: refresh,
  });
  const open = ['submitted', 'resubmitted', 'under_review'].includes(review.application.state);
  if (!open || review.round !== review.application.round) return null;
  const voted = (review.votes ?? []).some((v) => v.userId === userId);
  const mayVote =
    review.decision === 'pending' &&
    !voted &&
    (review.jointRole !== 'follower' || review.jointChoice === 'opted_out');
  const error = cast.error ?? joint.error ?? sendBack.error;
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('revYourVote')}
      </Title>
      {voted && <Text size="sm">{t('revAlreadyVoted')}</Text>}
      {review.jointRole === 'follower' && review.jointChoice === null && (
        <Group mb="sm">
          <Button variant="light" onClick={() => joint.mutate('accepted')} loading={joint.isPending}>
            {t('revJointAccept')}
          </Button>
          <Button variant="default" onClick={() => joint.mutate('opted_out')} loading={joint.isPending}>
            {t('revJointOptOut')}
          </Button>
        </Group>
      )}
      {mayVote && (
        <Stack gap="sm">
          <NativeSelect
            label={t('revVote')}
            value={vote}
            data={(Object.keys(VOTE_LABELS) as Vote[]).map((v) => ({ value: v, label: t(VOTE_LABELS[v]) }))}
            onChange={(e) => setVote(e.currentTarget.value as Vote)}
          />
          {vote === 'approve_with_conditions' && (
            <Textarea
              label={t('revConditionsInput')}
              description={t('revConditionsHint')}
              autosize
              minRows={2}
              value={conditions}
              onChange={(e) => setConditions(e.currentTarget.value)}
            />
          )}
          <Textarea
            label={t('revComment')}
            autosize
            minRows={2}
            value={comment}
            onChange={(e) => setComment(e.currentTarget.value)}
          />
          <Group>
            <Button onClick={() => cast.mutate()} loading={cast.isPending}>
              {t('revCastVote')}
            </Button>
          </Group>
        </Stack>
      )}
      <Stack gap="xs" mt="md">
        <Textarea
          label={t('revReturnComment')}
          autosize
          minRows={1}
          value={returnComment}
          onChange={(e) => setReturnComment(e.currentTarget.value)}
        />
        <Group>
          <Button
            variant="default"
            color="orange"
            disabled={returnComment.trim() === ''}
            onClick={() => sendBack.mutate()}
            loading={sendBack.isPending}
          >
            {t('revReturn')}
          </Button>
        </Group>
      </Stack>
      {error && (
        <Alert color="red" mt="sm" data-testid="review-error">
          {error.message}
        </Alert>
      )}
    </Card>
  );
}
