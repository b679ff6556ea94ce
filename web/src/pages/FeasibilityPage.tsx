/**
 * Feasibility: build a cohort (or paste ATLAS's Circe JSON), count it at every site, see
 * the per-site answers and attrition, and go back to earlier queries.
 */
import {
  Alert,
  Button,
  Card,
  Checkbox,
  Code,
  Group,
  JsonInput,
  NumberInput,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { buildCohort } from '../../../src/cohort/builder.ts';
import {
  DEFAULT_FEASIBILITY_TIMEOUT_SECONDS,
  type FeasibilityQueryView,
  MAX_FEASIBILITY_TIMEOUT_SECONDS,
} from '../../../src/protocol/feasibility.ts';
import { api } from '../api.ts';
import { ConceptPicker } from '../components/ConceptPicker.tsx';
import {
  type CohortForm,
  EVENT_DOMAINS,
  type EventDomain,
  type EventForm,
  emptyForm,
  hasValue,
  newEvent,
  OMOP_DOMAIN,
  type RuleForm,
  toSpec,
} from '../components/cohort-form.ts';
import { FeasibilityResults, QUERY_STATUS_KEY } from '../components/FeasibilityResults.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { type MessageKey, useI18n } from '../i18n.tsx';

const DOMAIN_KEY: Record<EventDomain, MessageKey> = {
  condition: 'feasDomainCondition',
  drug: 'feasDomainDrug',
  procedure: 'feasDomainProcedure',
  measurement: 'feasDomainMeasurement',
  observation: 'feasDomainObservation',
  visit: 'feasDomainVisit',
  device: 'feasDomainDevice',
};

const optionalNumber = (value: string | number) => (value === '' ? undefined : Number(value));

type Bound = number | undefined;

/** Two optional numbers side by side: a value range, or a window in days. */
function NumberPair({
  labels,
  values,
  onChange,
}: {
  labels: [string, string];
  values: [Bound, Bound];
  onChange(next: [Bound, Bound]): void;
}) {
  return (
    <>
      {([0, 1] as const).map((i) => (
        <NumberInput
          key={labels[i]}
          label={labels[i]}
          value={values[i] ?? ''}
          onChange={(v) =>
            onChange(i === 0 ? [optionalNumber(v), values[1]] : [values[0], optionalNumber(v)])
          }
          w={130}
        />
      ))}
    </>
  );
}

function EventEditor<E extends EventForm | RuleForm>({
  value,
  onChange,
  onRemove,
  withWindow,
  testId,
}: {
  value: E;
  onChange(next: E): void;
  onRemove?: () => void;
  withWindow: boolean;
  testId: string;
}) {
  const { t } = useI18n();
  const rule = value as RuleForm;
  return (
    <Card withBorder padding="sm" data-testid={testId}>
      <Stack gap="xs">
        <Group align="flex-end">
          <Select
            label={t('feasDomain')}
            value={value.domain}
            allowDeselect={false}
            data={EVENT_DOMAINS.map((d) => ({ value: d, label: t(DOMAIN_KEY[d]) }))}
            onChange={(d) => onChange({ ...value, domain: (d ?? 'condition') as EventDomain })}
            w={160}
          />
          {hasValue(value.domain) ? (
            <NumberPair
              labels={[t('feasValueMin'), t('feasValueMax')]}
              values={[value.valueMin, value.valueMax]}
              onChange={([valueMin, valueMax]) => onChange({ ...value, valueMin, valueMax })}
            />
          ) : null}
          {withWindow ? (
            <NumberPair
              labels={[t('feasFromDays'), t('feasToDays')]}
              values={[rule.fromDays, rule.toDays]}
              onChange={([fromDays, toDays]) => onChange({ ...value, fromDays, toDays })}
            />
          ) : null}
          {onRemove ? (
            <Button variant="subtle" color="red" onClick={onRemove}>
              {t('feasRemove')}
            </Button>
          ) : null}
        </Group>
        <ConceptPicker
          label={t('feasConcepts')}
          domain={OMOP_DOMAIN[value.domain]}
          value={value.concepts}
          onChange={(concepts) => onChange({ ...value, concepts })}
        />
      </Stack>
    </Card>
  );
}

function RuleList({
  title,
  hint,
  rules,
  onChange,
  testId,
}: {
  title: string;
  hint: string;
  rules: RuleForm[];
  onChange(next: RuleForm[]): void;
  testId: string;
}) {
  const { t } = useI18n();
  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <div>
          <Text fw={600}>{title}</Text>
          <Text size="xs" c="dimmed">
            {hint}
          </Text>
        </div>
        <Button variant="light" size="xs" onClick={() => onChange([...rules, newEvent('drug')])}>
          {t('feasAddCriterion')}
        </Button>
      </Group>
      {rules.map((rule, index) => (
        <EventEditor
          key={rule.key}
          testId={testId}
          value={rule}
          withWindow
          onChange={(next) => onChange(rules.map((r, i) => (i === index ? next : r)))}
          onRemove={() => onChange(rules.filter((_, i) => i !== index))}
        />
      ))}
    </Stack>
  );
}

function Builder({ form, setForm }: { form: CohortForm; setForm(next: CohortForm): void }) {
  const { t } = useI18n();
  return (
    <Stack>
      <TextInput
        label={t('feasTitle')}
        value={form.title}
        onChange={(e) => setForm({ ...form, title: e.currentTarget.value })}
      />
      <Stack gap="xs">
        <Group justify="space-between">
          <div>
            <Text fw={600}>{t('feasEntry')}</Text>
            <Text size="xs" c="dimmed">
              {t('feasEntryHint')}
            </Text>
          </div>
          <Button
            variant="light"
            size="xs"
            onClick={() => setForm({ ...form, entry: [...form.entry, newEvent('condition')] })}
          >
            {t('feasAddEntry')}
          </Button>
        </Group>
        {form.entry.map((event, index) => (
          <EventEditor
            key={event.key}
            testId="entry-event"
            value={event}
            withWindow={false}
            onChange={(next) =>
              setForm({ ...form, entry: form.entry.map((e, i) => (i === index ? next : e)) })
            }
            {...(form.entry.length > 1
              ? { onRemove: () => setForm({ ...form, entry: form.entry.filter((_, i) => i !== index) }) }
              : {})}
          />
        ))}
      </Stack>
      <Group align="flex-end">
        <NumberInput
          label={t('feasAgeMin')}
          min={0}
          value={form.ageMin ?? ''}
          onChange={(v) => setForm({ ...form, ageMin: optionalNumber(v) })}
          w={140}
        />
        <NumberInput
          label={t('feasAgeMax')}
          min={0}
          value={form.ageMax ?? ''}
          onChange={(v) => setForm({ ...form, ageMax: optionalNumber(v) })}
          w={140}
        />
        <Checkbox.Group
          label={t('feasSex')}
          value={form.sex}
          onChange={(sex) => setForm({ ...form, sex: sex as CohortForm['sex'] })}
        >
          <Group mt={6}>
            <Checkbox value="male" label={t('male')} />
            <Checkbox value="female" label={t('female')} />
          </Group>
        </Checkbox.Group>
        <NumberInput
          label={t('feasPriorObservation')}
          min={0}
          value={form.priorObservationDays ?? ''}
          onChange={(v) => setForm({ ...form, priorObservationDays: optionalNumber(v) })}
          w={200}
        />
      </Group>
      <RuleList
        title={t('feasRequire')}
        hint={t('feasWindowHint')}
        rules={form.require}
        onChange={(require) => setForm({ ...form, require })}
        testId="require-rule"
      />
      <RuleList
        title={t('feasExclude')}
        hint={t('feasWindowHint')}
        rules={form.exclude}
        onChange={(exclude) => setForm({ ...form, exclude })}
        testId="exclude-rule"
      />
    </Stack>
  );
}

type Built = { definition: Record<string, unknown>; name: string | undefined } | { error: string };

function History({ onOpen, currentId }: { onOpen(id: string): void; currentId: string | null }) {
  const { t } = useI18n();
  const history = useQuery({ queryKey: ['feasibility-history'], queryFn: api.feasibilityHistory });
  if (history.isError) return <LoadFailed error={history.error} />;
  const queries = history.data?.queries ?? [];
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        {t('feasHistory')}
      </Title>
      {queries.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('feasNoHistory')}
        </Text>
      ) : (
        <Table highlightOnHover data-testid="feasibility-history">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('feasTitle')}</Table.Th>
              <Table.Th>{t('status')}</Table.Th>
              <Table.Th>{t('feasTotal')}</Table.Th>
              <Table.Th>{t('feasSubmitted')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {queries.map((q) => (
              <Table.Tr
                key={q.id}
                data-testid="feasibility-history-row"
                onClick={() => onOpen(q.id)}
                style={{ cursor: 'pointer', fontWeight: q.id === currentId ? 600 : undefined }}
              >
                <Table.Td>{q.name ?? t('feasUntitled')}</Table.Td>
                <Table.Td>{t(QUERY_STATUS_KEY[q.status])}</Table.Td>
                <Table.Td>{q.total?.display ?? '–'}</Table.Td>
                <Table.Td>{new Date(q.createdAt).toLocaleString()}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

export function FeasibilityPage() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [tab, setTab] = useState<string | null>('builder');
  const [form, setForm] = useState<CohortForm>(emptyForm);
  const [atlasJson, setAtlasJson] = useState('');
  const [currentId, setCurrentId] = useState<string | null>(null);
  const [timeoutSeconds, setTimeoutSeconds] = useState<number>(DEFAULT_FEASIBILITY_TIMEOUT_SECONDS);

  const built = useMemo<Built>(() => {
    try {
      if (tab === 'atlas') {
        if (!atlasJson.trim()) return { error: t('feasPasteFirst') };
        const parsed: unknown = JSON.parse(atlasJson);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
          return { error: t('feasNotAnObject') };
        const title = (parsed as { Title?: unknown }).Title;
        return {
          definition: parsed as Record<string, unknown>,
          name: typeof title === 'string' && title ? title : undefined,
        };
      }
      if (form.entry.some((e) => e.concepts.length === 0)) return { error: t('feasEntryMissing') };
      const definition = buildCohort(toSpec(form)) as Record<string, unknown>;
      return { definition, name: form.title.trim() || undefined };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }, [tab, atlasJson, form, t]);

  const submit = useMutation({
    mutationFn: () => {
      if ('error' in built) throw new Error(built.error);
      return api.submitFeasibility({
        definition: built.definition,
        ...(built.name ? { name: built.name } : {}),
      });
    },
    onSuccess: (view) => {
      setCurrentId(view.id);
      queryClient.setQueryData(['feasibility', view.id], view);
      void queryClient.invalidateQueries({ queryKey: ['feasibility-history'] });
    },
  });

  const current = useQuery({
    queryKey: ['feasibility', currentId],
    enabled: currentId !== null,
    queryFn: () => api.feasibilityQuery(currentId!, 10),
    // The request itself waits for the sites (long-poll), so re-ask at once while running.
    refetchInterval: (query) => {
      const data = query.state.data as FeasibilityQueryView | undefined;
      if (data?.status === 'running') return 200;
      if (data) void queryClient.invalidateQueries({ queryKey: ['feasibility-history'] });
      return false;
    },
  });

  return (
    <Stack>
      <Title order={2}>{t('feasibility')}</Title>
      <Text c="dimmed" size="sm">
        {t('feasIntro')}
      </Text>
      <Card withBorder>
        <Tabs value={tab} onChange={setTab}>
          <Tabs.List>
            <Tabs.Tab value="builder">{t('feasBuilder')}</Tabs.Tab>
            <Tabs.Tab value="atlas">{t('feasPasteAtlas')}</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="builder" pt="md">
            <Builder form={form} setForm={setForm} />
          </Tabs.Panel>
          <Tabs.Panel value="atlas" pt="md">
            <JsonInput
              label={t('feasAtlasJson')}
              description={t('feasAtlasHint')}
              value={atlasJson}
              onChange={setAtlasJson}
              minRows={12}
              autosize
              maxRows={30}
              validationError={t('feasInvalidJson')}
              data-testid="atlas-json"
            />
          </Tabs.Panel>
        </Tabs>
        <Group mt="md" justify="space-between" align="flex-start">
          <div style={{ flex: 1 }}>
            {'error' in built ? (
              <Text size="sm" c="dimmed" data-testid="definition-problem">
                {built.error}
              </Text>
            ) : (
              <details>
                <summary>
                  <Text span size="sm">
                    {t('feasShowJson')}
                  </Text>
                </summary>
                <Code block data-testid="circe-json">
                  {JSON.stringify(built.definition, null, 2)}
                </Code>
              </details>
            )}
          </div>
          <Group align="flex-end">
            <NumberInput
              label={t('feasTimeout')}
              min={1}
              max={MAX_FEASIBILITY_TIMEOUT_SECONDS}
              value={timeoutSeconds}
              onChange={(v) => setTimeoutSeconds(Number(v) || DEFAULT_FEASIBILITY_TIMEOUT_SECONDS)}
              w={170}
            />
            <Button onClick={() => submit.mutate()} loading={submit.isPending} disabled={'error' in built}>
              {t('feasRun')}
            </Button>
          </Group>
        </Group>
        {submit.isError ? (
          <Alert color="red" mt="sm" title={t('feasRunFailed')} data-testid="feasibility-error">
            {submit.error.message}
          </Alert>
        ) : null}
      </Card>
      {current.isError ? <LoadFailed error={current.error} /> : null}
      {current.data ? <FeasibilityResults view={current.data} /> : null}
      <History onOpen={setCurrentId} currentId={currentId} />
    </Stack>
  );
}
