import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  Loader,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { MODALITIES } from '../../../src/protocol/catalog.ts';
import type { NeedInputRaw, NeedResponseKind, NeedView } from '../../../src/protocol/matching.ts';
import type { User } from '../api.ts';
import { AppLink } from '../components/AppLink.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { matchingApi } from '../matching-api.ts';
import { navigate } from '../router.ts';

const percent = (score: number) => `${Math.round(score * 100)}%`;

/** The matching board: /matching lists needs and posts a new one, /matching/:id shows one. */
export function MatchingPage({ path, user }: { path: string; user: User }) {
  const id = /^\/matching\/([0-9a-fA-F-]{36})$/.exec(path)?.[1];
  return id ? <NeedDetail key={id} id={id} user={user} /> : <NeedBoard user={user} />;
}

function NeedBoard({ user }: { user: User }) {
  const { t, language } = useI18n();
  const list = useQuery({ queryKey: ['needs'], queryFn: matchingApi.needs });
  const mayPost = user.roles.includes('researcher') || user.roles.includes('admin');
  return (
    <Stack gap="md" maw={1100}>
      <Title order={2}>{t('matching')}</Title>
      <Text c="dimmed">{t('matchingIntro')}</Text>
      {mayPost && <NeedForm />}
      <Card withBorder>
        <Title order={4} mb="sm">
          {t('needList')}
        </Title>
        {list.isPending ? (
          <Loader aria-label={t('loading')} />
        ) : list.isError ? (
          <LoadFailed error={list.error} />
        ) : list.data.needs.length === 0 ? (
          <Text c="dimmed">{t('needNone')}</Text>
        ) : (
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('needTitle')}</Table.Th>
                <Table.Th>{t('status')}</Table.Th>
                <Table.Th>{t('needMatchedSites')}</Table.Th>
                <Table.Th>{t('needDeadline')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.needs.map((n) => (
                <Table.Tr key={n.id} data-testid="need-row">
                  <Table.Td>
                    <AppLink href={`/matching/${n.id}`}>{n.title[language]}</AppLink>
                  </Table.Td>
                  <Table.Td>{t(`needState_${n.state}` as MessageKey)}</Table.Td>
                  <Table.Td>{n.matchedSites.join(', ') || '—'}</Table.Td>
                  <Table.Td>{n.deadline ?? '—'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
    </Stack>
  );
}

function NeedForm() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [titleKo, setTitleKo] = useState('');
  const [titleEn, setTitleEn] = useState('');
  const [descKo, setDescKo] = useState('');
  const [descEn, setDescEn] = useState('');
  const [modalities, setModalities] = useState<string[]>([]);
  const [conditions, setConditions] = useState('');
  const [minIndividuals, setMinIndividuals] = useState<number | string>('');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [purpose, setPurpose] = useState<string>('HMB');
  const [commercial, setCommercial] = useState(false);
  const [forProfit, setForProfit] = useState(false);
  const [deadline, setDeadline] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const post = useMutation({
    mutationFn: matchingApi.post,
    onSuccess: (need) => {
      void queryClient.invalidateQueries({ queryKey: ['needs'] });
      navigate(`/matching/${need.id}`);
    },
  });
  const submit = () => {
    const ids = conditions
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    if (ids.some((n) => !Number.isInteger(n) || n <= 0)) {
      setFormError(t('needConditionsInvalid'));
      return;
    }
    setFormError(null);
    const need: NeedInputRaw = {
      title: { ko: titleKo, en: titleEn || titleKo },
      description: { ko: descKo || titleKo, en: descEn || descKo || titleEn || titleKo },
      modalities: modalities as NeedInputRaw['modalities'],
      conditionConceptIds: ids,
      minIndividuals: typeof minIndividuals === 'number' ? minIndividuals : null,
      period: start && end ? { start, end } : null,
      intendedUse: {
        purpose: purpose as 'GRU' | 'HMB' | 'DS' | 'POA',
        diseaseConceptIds: purpose === 'DS' ? ids : [],
        commercial,
        forProfitOrganisation: forProfit,
      },
      deadline: deadline || null,
    };
    post.mutate(need);
  };
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('needPost')}
      </Title>
      <Stack gap="sm">
        <SimpleGrid cols={2}>
          <TextInput
            label={t('needTitleKo')}
            value={titleKo}
            onChange={(e) => setTitleKo(e.currentTarget.value)}
          />
          <TextInput
            label={t('needTitleEn')}
            value={titleEn}
            onChange={(e) => setTitleEn(e.currentTarget.value)}
          />
          <Textarea
            label={t('needDescKo')}
            value={descKo}
            onChange={(e) => setDescKo(e.currentTarget.value)}
          />
          <Textarea
            label={t('needDescEn')}
            value={descEn}
            onChange={(e) => setDescEn(e.currentTarget.value)}
          />
        </SimpleGrid>
        <Checkbox.Group label={t('needModalities')} value={modalities} onChange={setModalities}>
          <Group mt={4}>
            {MODALITIES.map((m) => (
              <Checkbox key={m} value={m} label={t(`modality_${m}` as MessageKey)} />
            ))}
          </Group>
        </Checkbox.Group>
        <SimpleGrid cols={3}>
          <TextInput
            label={t('needConditions')}
            description={t('needConditionsHint')}
            value={conditions}
            onChange={(e) => setConditions(e.currentTarget.value)}
          />
          <NumberInput
            label={t('needMinIndividuals')}
            min={1}
            value={minIndividuals}
            onChange={setMinIndividuals}
          />
          <TextInput
            label={t('needDeadline')}
            placeholder="YYYY-MM-DD"
            value={deadline}
            onChange={(e) => setDeadline(e.currentTarget.value)}
          />
          <TextInput
            label={t('needPeriodStart')}
            placeholder="YYYY-MM-DD"
            value={start}
            onChange={(e) => setStart(e.currentTarget.value)}
          />
          <TextInput
            label={t('needPeriodEnd')}
            placeholder="YYYY-MM-DD"
            value={end}
            onChange={(e) => setEnd(e.currentTarget.value)}
          />
          <Select
            label={t('needPurpose')}
            value={purpose}
            onChange={(v) => setPurpose(v ?? 'HMB')}
            data={['GRU', 'HMB', 'DS', 'POA'].map((p) => ({
              value: p,
              label: t(`needPurpose_${p}` as MessageKey),
            }))}
            allowDeselect={false}
          />
        </SimpleGrid>
        <Group>
          <Checkbox
            label={t('needCommercial')}
            checked={commercial}
            onChange={(e) => setCommercial(e.currentTarget.checked)}
          />
          <Checkbox
            label={t('needForProfit')}
            checked={forProfit}
            onChange={(e) => setForProfit(e.currentTarget.checked)}
          />
        </Group>
        {(formError || post.error) && <Alert color="red">{formError ?? post.error?.message}</Alert>}
        <Group>
          <Button onClick={submit} loading={post.isPending} disabled={titleKo.trim().length === 0}>
            {t('needSubmit')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

function NeedDetail({ id, user }: { id: string; user: User }) {
  const { t, language } = useI18n();
  const queryClient = useQueryClient();
  const need = useQuery({ queryKey: ['need', id], queryFn: () => matchingApi.need(id) });
  const refresh = (view: NeedView) => {
    queryClient.setQueryData(['need', id], view);
    void queryClient.invalidateQueries({ queryKey: ['needs'] });
  };
  const close = useMutation({ mutationFn: () => matchingApi.close(id), onSuccess: refresh });
  const toApplication = useMutation({
    mutationFn: () => matchingApi.toApplication(id),
    onSuccess: (result) => {
      refresh(result.need);
      navigate(`/applications/${result.applicationId}`);
    },
  });
  if (need.isPending) return <Loader aria-label={t('loading')} />;
  if (need.isError) return <LoadFailed error={need.error} />;
  const view = need.data;
  const mine = view.posterId === user.id;
  const stewarded = [
    ...new Set(
      view.matches
        .filter((m) => m.matched && user.siteRoles.some((r) => r.siteId === m.siteId && r.role === 'steward'))
        .map((m) => m.siteId),
    ),
  ];
  return (
    <Stack gap="md" maw={1200}>
      <AppLink href="/matching">{t('needBack')}</AppLink>
      <Group justify="space-between">
        <Title order={2} data-testid="need-title">
          {view.need.title[language]}
        </Title>
        <Badge size="lg" data-testid="need-state">
          {t(`needState_${view.state}` as MessageKey)}
        </Badge>
      </Group>
      <Text>{view.need.description[language]}</Text>
      {view.applicationId && (
        <AppLink href={`/applications/${view.applicationId}`}>{t('needApplicationLink')}</AppLink>
      )}
      {mine && view.state !== 'closed' && (
        <Group>
          <Button
            onClick={() => toApplication.mutate()}
            loading={toApplication.isPending}
            disabled={!view.responses.some((r) => r.response === 'interested')}
          >
            {t('needToApplication')}
          </Button>
          <Button variant="default" onClick={() => close.mutate()} loading={close.isPending}>
            {t('needClose')}
          </Button>
        </Group>
      )}
      {(toApplication.error || close.error) && (
        <Alert color="red">{(toApplication.error ?? close.error)?.message}</Alert>
      )}
      <Card withBorder>
        <Title order={4} mb="sm">
          {t('needMatches')}
        </Title>
        <Text size="xs" c="dimmed" mb="sm">
          {t('needScoreRule')}
        </Text>
        {view.matches.length === 0 ? (
          <Text c="dimmed">{t('needNoMatches')}</Text>
        ) : (
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>#</Table.Th>
                <Table.Th>{t('site')}</Table.Th>
                <Table.Th>{t('needDataset')}</Table.Th>
                <Table.Th>{t('needScore')}</Table.Th>
                <Table.Th>{t('needCritModality')}</Table.Th>
                <Table.Th>{t('needCritConditions')}</Table.Th>
                <Table.Th>{t('needCritSize')}</Table.Th>
                <Table.Th>{t('needCritTemporal')}</Table.Th>
                <Table.Th>DUO</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {view.matches.map((m) => (
                <Table.Tr key={m.datasetId} data-testid="match-row" data-site={m.siteId}>
                  <Table.Td>{m.rank}</Table.Td>
                  <Table.Td>{m.siteName}</Table.Td>
                  <Table.Td>
                    <AppLink href={`/catalog/${m.datasetId}`}>
                      {m.datasetTitle[language] || m.datasetId}
                    </AppLink>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      <Text fw={600}>{percent(m.score)}</Text>
                      {m.matched && (
                        <Badge size="xs" color="green">
                          {t('needMatched')}
                        </Badge>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>{percent(m.breakdown.modality.score)}</Table.Td>
                  <Table.Td title={m.breakdown.conditions.notEnough.join(', ')}>
                    {percent(m.breakdown.conditions.score)}
                  </Table.Td>
                  <Table.Td>
                    {percent(m.breakdown.size.score)}
                    {m.breakdown.size.individuals !== null && ` (${m.breakdown.size.individuals})`}
                  </Table.Td>
                  <Table.Td>{percent(m.breakdown.temporal.score)}</Table.Td>
                  <Table.Td>{t(`duo_${m.breakdown.duo.status}` as MessageKey)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
      {stewarded.length > 0 && view.state !== 'closed' && (
        <ResponseForm id={id} sites={stewarded} onDone={refresh} />
      )}
      <Card withBorder>
        <Title order={4} mb="sm">
          {t('needResponses')}
        </Title>
        {view.responses.length === 0 ? (
          <Text c="dimmed">{t('needNoResponses')}</Text>
        ) : (
          <Table>
            <Table.Tbody>
              {view.responses.map((r) => (
                <Table.Tr key={r.siteId} data-testid="response-row">
                  <Table.Td>{r.siteId}</Table.Td>
                  <Table.Td>{t(`needResponse_${r.response}` as MessageKey)}</Table.Td>
                  <Table.Td>{r.message}</Table.Td>
                  <Table.Td>
                    {new Date(r.respondedAt).toLocaleString(language === 'ko' ? 'ko-KR' : 'en-GB')}
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

function ResponseForm({
  id,
  sites,
  onDone,
}: {
  id: string;
  sites: string[];
  onDone: (view: NeedView) => void;
}) {
  const { t } = useI18n();
  const [siteId, setSiteId] = useState(sites[0]!);
  const [response, setResponse] = useState<NeedResponseKind>('interested');
  const [message, setMessage] = useState('');
  const respond = useMutation({
    mutationFn: () => matchingApi.respond(id, { siteId, response, message }),
    onSuccess: onDone,
  });
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('needRespond')}
      </Title>
      <Stack gap="sm">
        <Group grow>
          <Select
            label={t('site')}
            value={siteId}
            onChange={(v) => setSiteId(v ?? sites[0]!)}
            data={sites}
            allowDeselect={false}
          />
          <Select
            label={t('needResponse')}
            value={response}
            onChange={(v) => setResponse((v ?? 'interested') as NeedResponseKind)}
            data={(['interested', 'not_interested', 'need_more_info'] as const).map((r) => ({
              value: r,
              label: t(`needResponse_${r}`),
            }))}
            allowDeselect={false}
          />
        </Group>
        <Textarea
          label={t('needMessage')}
          value={message}
          onChange={(e) => setMessage(e.currentTarget.value)}
        />
        {respond.error && <Alert color="red">{respond.error.message}</Alert>}
        <Group>
          <Button onClick={() => respond.mutate()} loading={respond.isPending}>
            {t('needSendResponse')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
