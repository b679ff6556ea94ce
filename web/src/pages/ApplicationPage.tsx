import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Code,
  FileButton,
  Group,
  JsonInput,
  Loader,
  NativeSelect,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Table,
  TagsInput,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { ApplicationDraft } from '../../../src/protocol/access.ts';
import { canonicalJson } from '../../../src/protocol/canonical-json.ts';
import { ANALYSIS_MODES } from '../../../src/protocol/permit.ts';
import { type ApplicationView, type AttachmentKind, accessApi } from '../access-api.ts';
import { api, catalogApi, type User } from '../api.ts';
import { AppLink } from '../components/AppLink.tsx';
import { ApplicationTimeline } from '../components/ApplicationTimeline.tsx';
import { AttachmentTable } from '../components/AttachmentTable.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { StateBadge } from '../components/StateBadge.tsx';
import { type DraftField, unsavedEdits, useAutosave } from '../components/useAutosave.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';

type Member = NonNullable<ApplicationDraft['members']>[number];
type ConceptSet = NonNullable<ApplicationDraft['variables']>['conceptSets'][number];

const PURPOSES = ['GRU', 'HMB', 'DS', 'POA'] as const;
const MEMBER_ROLES = ['pi', 'co_investigator', 'analyst', 'other'] as const;
const USE_FLAGS = ['commercial', 'forProfitOrganisation', 'methodsResearch', 'geneticStudy'] as const;
/** Suggestions only; any OMOP CDM table name may be typed. */
const CDM_TABLE_SUGGESTIONS = [
  'person',
  'observation_period',
  'visit_occurrence',
  'condition_occurrence',
  'drug_exposure',
  'procedure_occurrence',
  'measurement',
  'observation',
  'death',
  'condition_era',
  'drug_era',
];

const ids = (text: string) =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);

/** One application: the form with autosave while it is a draft (or returned), its files, reviews, permits and timeline. */
export function ApplicationPage({ id, user }: { id: string; user: User }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const application = useQuery({ queryKey: ['application', id], queryFn: () => accessApi.application(id) });
  const [form, setForm] = useState<ApplicationDraft | null>(null);
  const autosave = useAutosave(id, (view) => {
    queryClient.setQueryData(['application', id], view);
    void queryClient.invalidateQueries({ queryKey: ['application-history', id] });
  });

  // The form starts from what the hub has, with edits this browser has not saved yet on top.
  useEffect(() => {
    if (application.data && form === null) setForm({ ...application.data.content, ...unsavedEdits(id) });
  }, [application.data, form, id]);

  const refresh = (view: ApplicationView) => {
    queryClient.setQueryData(['application', id], view);
    void queryClient.invalidateQueries({ queryKey: ['application-history', id] });
    void queryClient.invalidateQueries({ queryKey: ['applications'] });
  };
  const submit = useMutation({
    mutationFn: async (resubmit: boolean) => {
      await autosave.flush();
      return resubmit ? accessApi.resubmit(id) : accessApi.submit(id);
    },
    onSuccess: refresh,
  });
  const close = useMutation({ mutationFn: () => accessApi.close(id), onSuccess: refresh });

  if (application.isPending || (application.data && !form)) return <Loader aria-label={t('loading')} />;
  if (application.isError) return <LoadFailed error={application.error} />;
  const view = application.data;
  const draft = form!;
  const isApplicant = view.applicantId === user.id;
  const editable = isApplicant && (view.state === 'draft' || view.state === 'returned');
  const edit = <F extends DraftField>(field: F, value: ApplicationDraft[F]) => {
    setForm((f) => ({ ...f, [field]: value }));
    autosave.edit(field, value);
  };

  return (
    <Stack gap="md" maw={1100}>
      <Group justify="space-between">
        <AppLink href="/applications">{t('appBackToList')}</AppLink>
        <Group gap="xs">
          <StateBadge state={view.state} />
          {view.round > 0 && <Badge variant="outline">{t('appRound', { n: view.round })}</Badge>}
        </Group>
      </Group>
      <Title order={2} data-testid="application-title">
        {draft.title || t('appUntitled')}
      </Title>
      {editable && <SaveIndicator autosave={autosave} />}

      <fieldset disabled={!editable} style={{ border: 0, padding: 0, margin: 0 }}>
        <Stack gap="md">
          <ContentFields draft={draft} edit={edit} />
          <IntendedUseFields draft={draft} edit={edit} />
          <MembersFields draft={draft} edit={edit} />
          <DataFields draft={draft} edit={edit} />
          <CohortFields draft={draft} edit={edit} editable={editable} />
          <IrbFields draft={draft} edit={edit} />
        </Stack>
      </fieldset>

      <AttachmentsCard
        view={view}
        editable={editable}
        onUploaded={(kind, attachmentId) => {
          if (kind === 'irb_approval')
            edit('irb', {
              number: '',
              institution: '',
              approvedOn: '',
              expiresOn: '',
              ...draft.irb,
              documentAttachmentId: attachmentId,
            });
          void application.refetch();
        }}
      />

      {isApplicant && (
        <Group>
          {view.state === 'draft' && (
            <Button onClick={() => submit.mutate(false)} loading={submit.isPending}>
              {t('appSubmit')}
            </Button>
          )}
          {view.state === 'returned' && (
            <Button onClick={() => submit.mutate(true)} loading={submit.isPending}>
              {t('appResubmit')}
            </Button>
          )}
          {['draft', 'returned', 'approved', 'rejected'].includes(view.state) && (
            <Button variant="default" onClick={() => close.mutate()} loading={close.isPending}>
              {view.state === 'draft' || view.state === 'returned' ? t('appWithdraw') : t('appClose')}
            </Button>
          )}
        </Group>
      )}
      {(submit.error ?? close.error) && (
        <Alert color="red" data-testid="application-error">
          {(submit.error ?? close.error)!.message}
        </Alert>
      )}

      <ReviewsCard view={view} />
      <PermitsCard view={view} />
      <Card withBorder>
        <Title order={4} mb="sm">
          {t('appTimeline')}
        </Title>
        <ApplicationTimeline id={id} />
      </Card>
    </Stack>
  );
}

function SaveIndicator({ autosave }: { autosave: ReturnType<typeof useAutosave> }) {
  const { t, language } = useI18n();
  return (
    <Group gap="sm">
      <Text size="sm" c="dimmed" data-testid="saved-at">
        {autosave.saving
          ? t('appSaving')
          : autosave.savedAt
            ? t('appSavedAt', { time: autosave.savedAt.toLocaleTimeString(language) })
            : t('appAutosaveHint')}
      </Text>
      {autosave.waiting.length > 0 && (
        <Text size="sm" c="orange" data-testid="save-waiting">
          {t('appWaitingFields', { fields: autosave.waiting.join(', ') })}
        </Text>
      )}
      {autosave.error && (
        <Text size="sm" c="red" role="alert">
          {t('appSaveFailed')}: {autosave.error}
        </Text>
      )}
    </Group>
  );
}

interface FieldsProps {
  draft: ApplicationDraft;
  edit: <F extends DraftField>(field: F, value: ApplicationDraft[F]) => void;
}

const TEXT_FIELDS = [
  ['purpose', 'appPurpose'],
  ['researchQuestion', 'appResearchQuestion'],
  ['dataManagementPlan', 'appDataManagementPlan'],
] as const satisfies readonly (readonly [DraftField, MessageKey])[];

function ContentFields({ draft, edit }: FieldsProps) {
  const { t } = useI18n();
  return (
    <Card withBorder>
      <Stack gap="sm">
        <TextInput
          label={t('appTitle')}
          value={draft.title ?? ''}
          onChange={(e) => edit('title', e.currentTarget.value)}
        />
        {TEXT_FIELDS.map(([field, label]) => (
          <Textarea
            key={field}
            label={t(label)}
            autosize
            minRows={2}
            value={draft[field] ?? ''}
            onChange={(e) => edit(field, e.currentTarget.value)}
          />
        ))}
      </Stack>
    </Card>
  );
}

function IntendedUseFields({ draft, edit }: FieldsProps) {
  const { t } = useI18n();
  const use = draft.intendedUse ?? {
    purpose: 'HMB' as const,
    diseaseConceptIds: [],
    commercial: false,
    forProfitOrganisation: false,
    methodsResearch: false,
    geneticStudy: false,
  };
  const [diseaseText, setDiseaseText] = useState(use.diseaseConceptIds.join(', '));
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('appIntendedUse')}
      </Title>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <NativeSelect
          label={t('appDuoPurpose')}
          value={draft.intendedUse ? use.purpose : ''}
          data={[
            { value: '', label: '—' },
            ...PURPOSES.map((p) => ({ value: p, label: t(`duo${p}` as MessageKey) })),
          ]}
          onChange={(e) =>
            edit('intendedUse', { ...use, purpose: e.currentTarget.value as (typeof PURPOSES)[number] })
          }
        />
        <TextInput
          label={t('appDiseaseConcepts')}
          description={t('appDiseaseConceptsHint')}
          value={diseaseText}
          onChange={(e) => {
            setDiseaseText(e.currentTarget.value);
            edit('intendedUse', { ...use, diseaseConceptIds: ids(e.currentTarget.value) });
          }}
        />
      </SimpleGrid>
      <Group mt="sm">
        {USE_FLAGS.map((flag) => (
          <Checkbox
            key={flag}
            label={t(`appUse_${flag}` as MessageKey)}
            checked={use[flag]}
            onChange={(e) => edit('intendedUse', { ...use, [flag]: e.currentTarget.checked })}
          />
        ))}
      </Group>
    </Card>
  );
}

function MembersFields({ draft, edit }: FieldsProps) {
  const { t } = useI18n();
  const members = draft.members ?? [];
  const change = (index: number, member: Partial<Member>) =>
    edit(
      'members',
      members.map((m, i) => (i === index ? { ...m, ...member } : m)),
    );
  const optional = (value: string) => (value.trim() === '' ? undefined : value);
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={4}>{t('appMembers')}</Title>
        <Button
          size="xs"
          variant="light"
          onClick={() => edit('members', [...members, { name: '', role: members.length ? 'analyst' : 'pi' }])}
        >
          {t('appMemberAdd')}
        </Button>
      </Group>
      <Stack gap="xs">
        {members.map((member, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id of their own; order is the identity
          <Group key={index} align="end" wrap="nowrap" data-testid="member-row">
            <TextInput
              label={t('appMemberName')}
              value={member.name}
              onChange={(e) => change(index, { name: e.currentTarget.value })}
            />
            <TextInput
              label={t('email')}
              value={member.email ?? ''}
              onChange={(e) => change(index, { email: optional(e.currentTarget.value) })}
            />
            <TextInput
              label={t('appMemberInstitution')}
              value={member.institution ?? ''}
              onChange={(e) => change(index, { institution: optional(e.currentTarget.value) })}
            />
            <NativeSelect
              label={t('appMemberRole')}
              value={member.role}
              data={MEMBER_ROLES.map((r) => ({ value: r, label: t(`appRole_${r}` as MessageKey) }))}
              onChange={(e) => change(index, { role: e.currentTarget.value as Member['role'] })}
            />
            <ActionIcon
              variant="subtle"
              color="red"
              aria-label={t('appRemove')}
              onClick={() =>
                edit(
                  'members',
                  members.filter((_, i) => i !== index),
                )
              }
            >
              ×
            </ActionIcon>
          </Group>
        ))}
      </Stack>
    </Card>
  );
}

function DataFields({ draft, edit }: FieldsProps) {
  const { t, language } = useI18n();
  const health = useQuery({ queryKey: ['health'], queryFn: api.health });
  const catalog = useQuery({
    queryKey: ['catalog', 'application-picker'],
    queryFn: () => catalogApi.search({ limit: '100', sort: 'title' }),
  });
  const siteIds = draft.siteIds ?? [];
  const datasetIds = draft.datasetIds ?? [];
  const sites = (health.data?.sites ?? []).filter((s) => s.status === 'approved');
  const hits = catalog.data?.hits ?? [];
  const review = draft.review ?? { mode: 'separate' as const };
  const period = draft.period ?? { start: '', end: '' };
  const variables = draft.variables ?? { tables: [], conceptSets: [] };
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('appData')}
      </Title>
      <Stack gap="sm">
        <Checkbox.Group label={t('appSites')} value={siteIds} onChange={(value) => edit('siteIds', value)}>
          <Group mt="xs">
            {sites.map((s) => (
              <Checkbox key={s.id} value={s.id} label={`${s.name} (${s.id})`} />
            ))}
          </Group>
        </Checkbox.Group>
        <Checkbox.Group
          label={t('appDatasets')}
          description={t('appDatasetsHint')}
          value={datasetIds}
          onChange={(value) => {
            edit('datasetIds', value);
            // A chosen dataset's hospital is requested too.
            const needed = hits.filter((h) => value.includes(h.id)).map((h) => h.siteId);
            const more = needed.filter((s) => !siteIds.includes(s));
            if (more.length > 0) edit('siteIds', [...siteIds, ...new Set(more)]);
          }}
        >
          <Stack mt="xs" gap={4}>
            {hits.map((h) => (
              <Checkbox key={h.id} value={h.id} label={`${h.title[language]} — ${h.siteId}`} />
            ))}
          </Stack>
        </Checkbox.Group>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <TextInput
            type="date"
            label={t('appPeriodStart')}
            value={period.start}
            onChange={(e) => edit('period', { ...period, start: e.currentTarget.value })}
          />
          <TextInput
            type="date"
            label={t('appPeriodEnd')}
            value={period.end}
            onChange={(e) => edit('period', { ...period, end: e.currentTarget.value })}
          />
          <NativeSelect
            label={t('appAnalysisMode')}
            value={draft.analysisMode ?? ''}
            data={[
              { value: '', label: '—' },
              ...ANALYSIS_MODES.map((m) => ({ value: m, label: t(`appMode_${m}` as MessageKey) })),
            ]}
            onChange={(e) => edit('analysisMode', e.currentTarget.value as (typeof ANALYSIS_MODES)[number])}
          />
        </SimpleGrid>
        <Group align="end">
          <div>
            <Text size="sm" fw={500}>
              {t('appReviewMode')}
            </Text>
            <SegmentedControl
              value={review.mode}
              data={[
                { value: 'separate', label: t('appReviewSeparate') },
                { value: 'joint', label: t('appReviewJoint') },
              ]}
              onChange={(mode) =>
                edit(
                  'review',
                  mode === 'joint'
                    ? { mode, ...(review.leadSiteId ? { leadSiteId: review.leadSiteId } : {}) }
                    : { mode: 'separate' },
                )
              }
            />
          </div>
          {review.mode === 'joint' && (
            <NativeSelect
              label={t('appLeadSite')}
              value={review.leadSiteId ?? ''}
              data={[{ value: '', label: '—' }, ...siteIds.map((s) => ({ value: s, label: s }))]}
              onChange={(e) =>
                edit('review', {
                  mode: 'joint',
                  ...(e.currentTarget.value ? { leadSiteId: e.currentTarget.value } : {}),
                })
              }
            />
          )}
        </Group>
        <TagsInput
          label={t('appTables')}
          data={CDM_TABLE_SUGGESTIONS}
          value={variables.tables}
          onChange={(tables) => edit('variables', { ...variables, tables })}
        />
        <ConceptSetsFields
          sets={variables.conceptSets}
          onChange={(conceptSets) => edit('variables', { ...variables, conceptSets })}
        />
      </Stack>
    </Card>
  );
}

function ConceptSetsFields({
  sets,
  onChange,
}: {
  sets: ConceptSet[];
  onChange: (sets: ConceptSet[]) => void;
}) {
  const { t } = useI18n();
  const [texts, setTexts] = useState(sets.map((s) => s.conceptIds.join(', ')));
  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Text size="sm" fw={500}>
          {t('appConceptSets')}
        </Text>
        <Button
          size="xs"
          variant="light"
          onClick={() => {
            setTexts([...texts, '']);
            onChange([...sets, { name: '', conceptIds: [] }]);
          }}
        >
          {t('appConceptSetAdd')}
        </Button>
      </Group>
      {sets.map((set, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id of their own; order is the identity
        <Group key={index} align="end" wrap="nowrap">
          <TextInput
            label={t('appConceptSetName')}
            value={set.name}
            onChange={(e) =>
              onChange(sets.map((s, i) => (i === index ? { ...s, name: e.currentTarget.value } : s)))
            }
          />
          <TextInput
            style={{ flex: 1 }}
            label={t('appConceptIds')}
            value={texts[index] ?? ''}
            onChange={(e) => {
              const text = e.currentTarget.value;
              setTexts(texts.map((x, i) => (i === index ? text : x)));
              onChange(sets.map((s, i) => (i === index ? { ...s, conceptIds: ids(text) } : s)));
            }}
          />
        </Group>
      ))}
    </Stack>
  );
}

function CohortFields({ draft, edit, editable }: FieldsProps & { editable: boolean }) {
  const { t } = useI18n();
  const [text, setText] = useState(draft.cohort ? JSON.stringify(draft.cohort, null, 2) : '');
  const [invalid, setInvalid] = useState(false);
  // The linked query's definition (the hub keeps the cohort equal to it while linked).
  const [linkedDefinition, setLinkedDefinition] = useState(
    draft.feasibilityQueryId && draft.cohort ? canonicalJson(draft.cohort) : null,
  );
  const history = useQuery({
    queryKey: ['feasibility-history'],
    queryFn: accessApi.feasibilityQueries,
    enabled: editable || Boolean(draft.feasibilityQueryId),
  });
  const linkable = (history.data?.queries ?? []).filter(
    (q) => q.status === 'complete' || q.id === draft.feasibilityQueryId,
  );
  const linked = (history.data?.queries ?? []).find((q) => q.id === draft.feasibilityQueryId);
  const queryLabel = (q: { id: string; name: string | null; createdAt: string }) =>
    `${q.name ?? q.id.slice(0, 8)} · ${new Date(q.createdAt).toLocaleString()}`;
  const takeText = (value: string) => {
    setText(value);
    try {
      const parsed: unknown = JSON.parse(value);
      const ok = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      setInvalid(!ok);
      if (!ok) return;
      edit('cohort', parsed as Record<string, unknown>);
      // A cohort edited away from the linked query's definition no longer matches its counts.
      if (linkedDefinition !== null && canonicalJson(parsed) !== linkedDefinition) {
        setLinkedDefinition(null);
        edit('feasibilityQueryId', null);
      }
    } catch {
      setInvalid(value.trim() !== '');
    }
  };
  const link = async (id: string) => {
    if (!id) {
      setLinkedDefinition(null);
      edit('feasibilityQueryId', null);
      return;
    }
    const query = await accessApi.feasibilityQuery(id);
    setLinkedDefinition(canonicalJson(query.definition));
    setText(JSON.stringify(query.definition, null, 2));
    setInvalid(false);
    edit('cohort', query.definition);
    edit('feasibilityQueryId', id);
  };
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('appCohort')}
      </Title>
      {editable && linkable.length > 0 && (
        <NativeSelect
          mb="sm"
          label={t('appFeasibilityLink')}
          description={t('appFeasibilityLinkHint')}
          value={draft.feasibilityQueryId ?? ''}
          data={[
            { value: '', label: t('appFeasibilityNone') },
            ...linkable.map((q) => ({ value: q.id, label: queryLabel(q) })),
          ]}
          onChange={(e) => void link(e.currentTarget.value)}
        />
      )}
      {!editable && draft.feasibilityQueryId && (
        <Text size="sm" mb="sm" data-testid="application-feasibility-link">
          {t('appFeasibilityLinked', {
            name: linked ? queryLabel(linked) : draft.feasibilityQueryId.slice(0, 8),
          })}
        </Text>
      )}
      <JsonInput
        label={t('appCohortJson')}
        description={t('appCohortJsonHint')}
        autosize
        minRows={4}
        maxRows={16}
        value={text}
        onChange={takeText}
        error={invalid ? t('appCohortInvalid') : undefined}
      />
    </Card>
  );
}

function IrbFields({ draft, edit }: FieldsProps) {
  const { t } = useI18n();
  const irb = draft.irb ?? { number: '', institution: '', approvedOn: '', expiresOn: '' };
  const set = (change: Partial<typeof irb>) => edit('irb', { ...irb, ...change });
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('appIrb')}
      </Title>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label={t('appIrbNumber')}
          value={irb.number}
          onChange={(e) => set({ number: e.currentTarget.value })}
        />
        <TextInput
          label={t('appIrbInstitution')}
          value={irb.institution}
          onChange={(e) => set({ institution: e.currentTarget.value })}
        />
        <TextInput
          type="date"
          label={t('appIrbApprovedOn')}
          value={irb.approvedOn}
          onChange={(e) => set({ approvedOn: e.currentTarget.value })}
        />
        <TextInput
          type="date"
          label={t('appIrbExpiresOn')}
          value={irb.expiresOn}
          onChange={(e) => set({ expiresOn: e.currentTarget.value })}
        />
      </SimpleGrid>
      <Text size="sm" mt="sm" data-testid="irb-document">
        {irb.documentAttachmentId
          ? t('appIrbDocumentSet', { id: irb.documentAttachmentId.slice(0, 8) })
          : t('appIrbDocumentMissing')}
      </Text>
    </Card>
  );
}

function AttachmentsCard({
  view,
  editable,
  onUploaded,
}: {
  view: ApplicationView;
  editable: boolean;
  onUploaded: (kind: AttachmentKind, attachmentId: string) => void;
}) {
  const { t } = useI18n();
  const upload = useMutation({
    mutationFn: ({ kind, file }: { kind: AttachmentKind; file: File }) =>
      accessApi.uploadAttachment(view.id, kind, file),
    onSuccess: (attachment) => onUploaded(attachment.kind, attachment.id),
  });
  const kinds: AttachmentKind[] = ['irb_approval', 'data_management_plan', 'other'];
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('appAttachments')}
      </Title>
      {editable && (
        <Group mb="sm">
          {kinds.map((kind) => (
            <FileButton
              key={kind}
              accept="application/pdf,image/png,image/jpeg,text/plain,application/vnd.openxmlformats-officedocument.wordprocessingml.document"
              onChange={(file) => file && upload.mutate({ kind, file })}
            >
              {(props) => (
                <Button {...props} variant="light" size="xs" loading={upload.isPending}>
                  {t(`appUpload_${kind}` as MessageKey)}
                </Button>
              )}
            </FileButton>
          ))}
        </Group>
      )}
      {upload.error && (
        <Alert color="red" mb="sm" data-testid="upload-error">
          {upload.error.message}
        </Alert>
      )}
      <AttachmentTable applicationId={view.id} attachments={view.attachments} />
    </Card>
  );
}

function ReviewsCard({ view }: { view: ApplicationView }) {
  const { t } = useI18n();
  if (view.reviews.length === 0) return null;
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('appReviews')}
      </Title>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('site')}</Table.Th>
            <Table.Th>{t('revDecision')}</Table.Th>
            <Table.Th>{t('revConditions')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {view.reviews.map((r) => (
            <Table.Tr key={r.id} data-testid="application-review">
              <Table.Td>{r.siteId}</Table.Td>
              <Table.Td>{t(`decision_${r.decision}` as MessageKey)}</Table.Td>
              <Table.Td>{r.conditions.join('; ') || '—'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

function PermitsCard({ view }: { view: ApplicationView }) {
  const { t } = useI18n();
  if (view.permits.length === 0) return null;
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('permits')}
      </Title>
      {view.permits.map((p) => (
        <Group key={p.id} gap="sm">
          <AppLink href={`/permits/${p.id}`} testId="permit-link">
            <Code>{p.id}</Code>
          </AppLink>
          <Badge color={p.status === 'active' ? 'teal' : 'gray'}>
            {t(`permit_${p.status}` as MessageKey)}
          </Badge>
        </Group>
      ))}
    </Card>
  );
}
