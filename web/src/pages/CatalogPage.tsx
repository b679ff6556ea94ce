/**
 * The catalog: search datasets across hospitals (Korean or English), filter and page the
 * results, open a dataset with its history, and — for a site's steward — describe a new
 * dataset or save a new version of one.
 */
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Loader,
  MultiSelect,
  NumberInput,
  Pagination,
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
import { type FormEvent, useState } from 'react';
import type { CatalogHit, DatasetInputRaw, DatasetVersion } from '../../../src/protocol/catalog.ts';
import { api, catalogApi, type User } from '../api.ts';
import { ConceptPicker, type PickedConcept } from '../components/ConceptPicker.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { navigate } from '../router.ts';

const PAGE_SIZE = 10;
const MODALITIES = [
  'ehr',
  'imaging',
  'ecg_waveform',
  'genomics',
  'lifelog_wearable',
  'clinical_notes',
] as const;
const ACCESS_RIGHTS = ['PUBLIC', 'RESTRICTED', 'NON_PUBLIC'] as const;
/** The DUO terms a steward picks from most (GA4GH Data Use Ontology ids). */
const DUO_CHOICES = [
  { value: 'DUO:0000042', label: 'GRU — general research use' },
  { value: 'DUO:0000006', label: 'HMB — health/medical/biomedical research' },
  { value: 'DUO:0000007', label: 'DS — disease specific research' },
  { value: 'DUO:0000004', label: 'NRES — no restriction' },
  { value: 'DUO:0000021', label: 'IRB — ethics approval required' },
  { value: 'DUO:0000045', label: 'NPU — not-for-profit use only' },
  { value: 'DUO:0000046', label: 'NCU — non-commercial use only' },
  { value: 'DUO:0000019', label: 'PUB — publication required' },
  { value: 'DUO:0000020', label: 'COL — collaboration required' },
  { value: 'DUO:0000028', label: 'IS — institution specific restriction' },
];
const DISEASE_SPECIFIC = 'DUO:0000007';

const modalityKey = (m: string) => `modality_${m}` as MessageKey;
const accessKey = (a: string) => `access_${a}` as MessageKey;

function useMe(): User | null | undefined {
  return useQuery({ queryKey: ['me'], queryFn: async () => (await api.me()).user }).data;
}

/** Sites the user may describe datasets for (mirrors the hub's canPublishFor). */
function publishableSites(user: User | null | undefined, allSites: string[]): string[] {
  if (!user) return [];
  if (user.roles.includes('admin')) return allSites;
  return user.siteRoles.filter((r) => r.role === 'steward').map((r) => r.siteId);
}

function go(path: string) {
  return (e: { preventDefault(): void }) => {
    e.preventDefault();
    navigate(path);
  };
}

export function CatalogPage({ path }: { path: string }) {
  const rest = path.slice('/catalog'.length).replace(/^\//, '');
  if (rest === '') return <CatalogSearch />;
  if (rest === 'new') return <DatasetEditor />;
  const [id, action] = rest.split('/');
  if (action === 'edit') return <DatasetEditor id={decodeURIComponent(id!)} />;
  return <DatasetDetail id={decodeURIComponent(id!)} />;
}

function CatalogSearch() {
  const { t, language } = useI18n();
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const [modality, setModality] = useState<string | null>(null);
  const [siteId, setSiteId] = useState<string | null>(null);
  const [accessRights, setAccessRights] = useState<string | null>(null);
  const [duo, setDuo] = useState<string | null>(null);
  const [condition, setCondition] = useState<PickedConcept[]>([]);
  const [sort, setSort] = useState<string | null>(null);
  const [page, setPage] = useState(1);
  const me = useMe();
  const sites = useQuery({ queryKey: ['health'], queryFn: api.health }).data?.sites ?? [];
  const params: Record<string, string> = {
    limit: String(PAGE_SIZE),
    offset: String((page - 1) * PAGE_SIZE),
    lang: language,
    ...(q ? { q } : {}),
    ...(modality ? { modality } : {}),
    ...(siteId ? { siteId } : {}),
    ...(accessRights ? { accessRights } : {}),
    ...(duo ? { duo } : {}),
    ...(condition[0] ? { conditionConceptId: String(condition[0].conceptId) } : {}),
    ...(sort ? { sort } : {}),
  };
  const results = useQuery({ queryKey: ['catalog', params], queryFn: () => catalogApi.search(params) });
  const filter =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setPage(1);
    };
  const canPublish = publishableSites(
    me,
    sites.map((s) => s.id),
  ).length;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('catalog')}</Title>
        {canPublish > 0 && (
          <Button component="a" href="/catalog/new" onClick={go('/catalog/new')}>
            {t('catalogNew')}
          </Button>
        )}
      </Group>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setQ(text.trim());
          setPage(1);
        }}
      >
        <Group align="end">
          <TextInput
            style={{ flex: 1 }}
            label={t('catalogSearch')}
            placeholder={t('catalogSearchHint')}
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
          />
          <Button type="submit">{t('search')}</Button>
        </Group>
      </form>
      <SimpleGrid cols={{ base: 2, md: 6 }}>
        <Select
          label={t('catalogModality')}
          clearable
          value={modality}
          onChange={filter(setModality)}
          data={MODALITIES.map((m) => ({ value: m, label: t(modalityKey(m)) }))}
        />
        <Select
          label={t('site')}
          clearable
          value={siteId}
          onChange={filter(setSiteId)}
          data={sites.map((s) => ({ value: s.id, label: s.name }))}
        />
        <Select
          label={t('catalogAccessRights')}
          clearable
          value={accessRights}
          onChange={filter(setAccessRights)}
          data={ACCESS_RIGHTS.map((a) => ({ value: a, label: t(accessKey(a)) }))}
        />
        <Select
          label={t('catalogAllowedUse')}
          clearable
          value={duo}
          onChange={filter(setDuo)}
          data={DUO_CHOICES}
        />
        <Select
          label={t('catalogSort')}
          clearable
          placeholder={t('sort_relevance')}
          value={sort}
          onChange={filter(setSort)}
          data={(['relevance', 'title', 'updated', 'individuals'] as const).map((s) => ({
            value: s,
            label: t(`sort_${s}` as MessageKey),
          }))}
        />
      </SimpleGrid>
      <ConceptPicker
        label={t('catalogCondition')}
        domain="Condition"
        testId="catalog-condition"
        value={condition}
        // One condition at a time: the newest pick replaces the last.
        onChange={(next) => filter(setCondition)(next.slice(-1))}
      />
      {results.isPending ? (
        <Loader aria-label={t('loading')} />
      ) : results.isError ? (
        <LoadFailed error={results.error} />
      ) : (
        <>
          <Text size="sm" c="dimmed" data-testid="catalog-total">
            {t('catalogTotal', { n: results.data.total })}
          </Text>
          {results.data.hits.map((hit) => (
            <HitCard key={hit.id} hit={hit} />
          ))}
          {results.data.total > PAGE_SIZE && (
            <Pagination
              total={Math.ceil(results.data.total / PAGE_SIZE)}
              value={page}
              onChange={setPage}
              aria-label={t('catalogPages')}
            />
          )}
        </>
      )}
    </Stack>
  );
}

function HitCard({ hit }: { hit: CatalogHit }) {
  const { t, language } = useI18n();
  return (
    <Card withBorder data-testid="catalog-hit" data-dataset-id={hit.id}>
      <Anchor href={`/catalog/${hit.id}`} onClick={go(`/catalog/${hit.id}`)} fw={600}>
        {hit.title[language]}
      </Anchor>
      <Text size="sm" c="dimmed">
        {hit.siteName}
      </Text>
      <Text size="sm" lineClamp={2}>
        {hit.description[language]}
      </Text>
      <Group gap="xs" mt="xs">
        {hit.modalities.map((m) => (
          <Badge key={m} variant="light">
            {t(modalityKey(m))}
          </Badge>
        ))}
        <Badge variant="outline" color="gray">
          {t(accessKey(hit.accessRights))}
        </Badge>
        {hit.numberOfIndividuals !== null && (
          <Text size="xs">{t('catalogIndividualsN', { n: hit.numberOfIndividuals.toLocaleString() })}</Text>
        )}
      </Group>
    </Card>
  );
}

function DatasetDetail({ id }: { id: string }) {
  const { t, language } = useI18n();
  const me = useMe();
  const dataset = useQuery({ queryKey: ['dataset', id], queryFn: () => catalogApi.dataset(id) });
  const history = useQuery({ queryKey: ['dataset-history', id], queryFn: () => catalogApi.history(id) });
  const [shown, setShown] = useState<DatasetVersion | null>(null);
  if (dataset.isPending) return <Loader aria-label={t('loading')} />;
  if (dataset.isError) return <LoadFailed error={dataset.error} />;
  const current = dataset.data;
  const d = shown?.dataset ?? current.dataset;
  const mayEdit = publishableSites(me, [current.dataset.siteId]).includes(current.dataset.siteId);
  const rows: [MessageKey, string][] = [
    ['site', current.siteName],
    ['catalogModality', d.modalities.map((m) => t(modalityKey(m))).join(', ')],
    ['catalogThemes', (d.themes ?? []).join(', ')],
    ['catalogCodingSystems', (d.codingSystems ?? []).join(', ')],
    ['catalogRecords', d.numberOfRecords?.toLocaleString() ?? '–'],
    ['catalogIndividuals', d.numberOfIndividuals?.toLocaleString() ?? '–'],
    ['catalogAgeRange', d.ageRange ? `${d.ageRange.min}–${d.ageRange.max}` : '–'],
    ['catalogTemporal', d.temporalCoverage ? `${d.temporalCoverage.start} – ${d.temporalCoverage.end}` : '–'],
    ['catalogAccessRights', t(accessKey(d.accessRights))],
    [
      'catalogAllowedUse',
      (d.allowedUses ?? [])
        .map(
          (u) =>
            `${DUO_CHOICES.find((c) => c.value === u.code)?.label ?? u.code}${u.disease ? ` (${u.disease})` : ''}`,
        )
        .join('; '),
    ],
    ['catalogContact', `${d.contact.name} <${d.contact.email}>`],
  ];
  return (
    <Stack>
      <Anchor href="/catalog" onClick={go('/catalog')}>
        {t('catalogBack')}
      </Anchor>
      <Group justify="space-between">
        <Title order={2} data-testid="dataset-title">
          {d.title[language]}
        </Title>
        {mayEdit && !shown && (
          <Button component="a" href={`/catalog/${id}/edit`} onClick={go(`/catalog/${id}/edit`)}>
            {t('catalogEdit')}
          </Button>
        )}
      </Group>
      {shown && (
        <Alert color="yellow" data-testid="old-version">
          {t('catalogOldVersion', { n: shown.version })}{' '}
          <Anchor component="button" onClick={() => setShown(null)}>
            {t('catalogShowCurrent')}
          </Anchor>
        </Alert>
      )}
      <Text>{d.description[language]}</Text>
      <Table withTableBorder>
        <Table.Tbody>
          {rows.map(([key, value]) => (
            <Table.Tr key={key}>
              <Table.Th w={200}>{t(key)}</Table.Th>
              <Table.Td>{value}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Group>
        <Text size="sm">
          {t('quality')}: {current.quality ? `${current.quality.percentPassed ?? '–'}%` : t('notPublished')}
        </Text>
        <Text size="sm">
          {t('profile')}:{' '}
          {current.profile
            ? t('catalogIndividualsN', { n: String(current.profile.persons) })
            : t('notPublished')}
        </Text>
        <Anchor
          href={`/sites/${current.dataset.siteId}`}
          onClick={go(`/sites/${current.dataset.siteId}`)}
          size="sm"
        >
          {t('siteDetails')}
        </Anchor>
      </Group>
      <Title order={4}>{t('catalogHistory')}</Title>
      <Table striped fz="sm">
        <Table.Tbody>
          {(history.data?.versions ?? []).map((v) => (
            <Table.Tr key={v.version} data-testid="dataset-version">
              <Table.Td>v{v.version}</Table.Td>
              <Table.Td>{new Date(v.editedAt).toLocaleString(language)}</Table.Td>
              <Table.Td>{v.dataset.title[language]}</Table.Td>
              <Table.Td>
                {v.version !== current.version && (
                  <Anchor component="button" onClick={() => setShown(v)}>
                    {t('catalogView')}
                  </Anchor>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const numberOrNull = (v: string | number) => (v === '' ? null : Number(v));

function DatasetEditor({ id }: { id?: string }) {
  const { t } = useI18n();
  const me = useMe();
  const queryClient = useQueryClient();
  const sites = useQuery({ queryKey: ['health'], queryFn: api.health }).data?.sites ?? [];
  const existing = useQuery({
    queryKey: ['dataset', id],
    queryFn: () => catalogApi.dataset(id!),
    enabled: !!id,
  });
  if (id && existing.isPending) return <Loader aria-label={t('loading')} />;
  const allowed = publishableSites(
    me,
    sites.map((s) => s.id),
  );
  return (
    <DatasetForm
      key={existing.data?.version ?? 'new'}
      initial={existing.data?.dataset}
      sites={sites.filter((s) => allowed.includes(s.id)).map((s) => ({ value: s.id, label: s.name }))}
      onSave={async (dataset) => {
        const saved = existing.data
          ? await catalogApi.update(existing.data.id, existing.data.version, dataset)
          : await catalogApi.create(dataset);
        await queryClient.invalidateQueries({ queryKey: ['dataset', saved.id] });
        await queryClient.invalidateQueries({ queryKey: ['dataset-history', saved.id] });
        await queryClient.invalidateQueries({ queryKey: ['catalog'] });
        navigate(`/catalog/${saved.id}`);
      }}
    />
  );
}

function DatasetForm({
  initial,
  sites,
  onSave,
}: {
  initial: DatasetInputRaw | undefined;
  sites: { value: string; label: string }[];
  onSave: (dataset: DatasetInputRaw) => Promise<void>;
}) {
  const { t } = useI18n();
  const [siteId, setSiteId] = useState<string | null>(initial?.siteId ?? sites[0]?.value ?? null);
  const [titleKo, setTitleKo] = useState(initial?.title.ko ?? '');
  const [titleEn, setTitleEn] = useState(initial?.title.en ?? '');
  const [descKo, setDescKo] = useState(initial?.description.ko ?? '');
  const [descEn, setDescEn] = useState(initial?.description.en ?? '');
  const [themes, setThemes] = useState((initial?.themes ?? []).join(', '));
  const [modalities, setModalities] = useState<string[]>(initial?.modalities ?? ['ehr']);
  const [codingSystems, setCodingSystems] = useState((initial?.codingSystems ?? []).join(', '));
  const [records, setRecords] = useState<string | number>(initial?.numberOfRecords ?? '');
  const [individuals, setIndividuals] = useState<string | number>(initial?.numberOfIndividuals ?? '');
  const [ageMin, setAgeMin] = useState<string | number>(initial?.ageRange?.min ?? '');
  const [ageMax, setAgeMax] = useState<string | number>(initial?.ageRange?.max ?? '');
  const [start, setStart] = useState(initial?.temporalCoverage?.start ?? '');
  const [end, setEnd] = useState(initial?.temporalCoverage?.end ?? '');
  const [accessRights, setAccessRights] = useState<string>(initial?.accessRights ?? 'RESTRICTED');
  const [uses, setUses] = useState<string[]>((initial?.allowedUses ?? []).map((u) => u.code));
  const [disease, setDisease] = useState(initial?.allowedUses?.find((u) => u.disease)?.disease ?? '');
  const [contactName, setContactName] = useState(initial?.contact.name ?? '');
  const [contactEmail, setContactEmail] = useState(initial?.contact.email ?? '');
  const save = useMutation({ mutationFn: onSave });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({
      siteId: siteId ?? '',
      title: { ko: titleKo, en: titleEn },
      description: { ko: descKo, en: descEn },
      themes: list(themes),
      modalities: modalities as DatasetInputRaw['modalities'],
      codingSystems: list(codingSystems),
      numberOfRecords: numberOrNull(records),
      numberOfIndividuals: numberOrNull(individuals),
      ageRange: ageMin === '' || ageMax === '' ? null : { min: Number(ageMin), max: Number(ageMax) },
      temporalCoverage: start && end ? { start, end } : null,
      accessRights: accessRights as DatasetInputRaw['accessRights'],
      allowedUses: uses.map((code) => (code === DISEASE_SPECIFIC ? { code, disease } : { code })),
      contact: { name: contactName, email: contactEmail },
    });
  };

  return (
    <form onSubmit={submit}>
      <Stack maw={900}>
        <Title order={2}>{initial ? t('catalogEdit') : t('catalogNew')}</Title>
        <Select
          label={t('site')}
          required
          value={siteId}
          onChange={setSiteId}
          data={sites}
          disabled={!!initial}
        />
        <SimpleGrid cols={2}>
          <TextInput
            label={t('catalogTitleKo')}
            required
            value={titleKo}
            onChange={(e) => setTitleKo(e.currentTarget.value)}
          />
          <TextInput
            label={t('catalogTitleEn')}
            required
            value={titleEn}
            onChange={(e) => setTitleEn(e.currentTarget.value)}
          />
          <Textarea
            label={t('catalogDescKo')}
            required
            autosize
            minRows={3}
            value={descKo}
            onChange={(e) => setDescKo(e.currentTarget.value)}
          />
          <Textarea
            label={t('catalogDescEn')}
            required
            autosize
            minRows={3}
            value={descEn}
            onChange={(e) => setDescEn(e.currentTarget.value)}
          />
        </SimpleGrid>
        <MultiSelect
          label={t('catalogModality')}
          required
          value={modalities}
          onChange={setModalities}
          data={MODALITIES.map((m) => ({ value: m, label: t(modalityKey(m)) }))}
        />
        <SimpleGrid cols={2}>
          <TextInput
            label={t('catalogThemes')}
            description={t('catalogCommaHint')}
            value={themes}
            onChange={(e) => setThemes(e.currentTarget.value)}
          />
          <TextInput
            label={t('catalogCodingSystems')}
            description={t('catalogCommaHint')}
            value={codingSystems}
            onChange={(e) => setCodingSystems(e.currentTarget.value)}
          />
          <NumberInput
            label={t('catalogRecords')}
            min={0}
            allowDecimal={false}
            value={records}
            onChange={setRecords}
          />
          <NumberInput
            label={t('catalogIndividuals')}
            min={0}
            allowDecimal={false}
            value={individuals}
            onChange={setIndividuals}
          />
          <NumberInput
            label={t('catalogAgeMin')}
            min={0}
            max={150}
            allowDecimal={false}
            value={ageMin}
            onChange={setAgeMin}
          />
          <NumberInput
            label={t('catalogAgeMax')}
            min={0}
            max={150}
            allowDecimal={false}
            value={ageMax}
            onChange={setAgeMax}
          />
          <TextInput
            label={t('catalogStart')}
            placeholder="YYYY-MM-DD"
            value={start}
            onChange={(e) => setStart(e.currentTarget.value)}
          />
          <TextInput
            label={t('catalogEnd')}
            placeholder="YYYY-MM-DD"
            value={end}
            onChange={(e) => setEnd(e.currentTarget.value)}
          />
        </SimpleGrid>
        <Select
          label={t('catalogAccessRights')}
          required
          value={accessRights}
          onChange={(v) => setAccessRights(v ?? 'RESTRICTED')}
          data={ACCESS_RIGHTS.map((a) => ({ value: a, label: t(accessKey(a)) }))}
        />
        <MultiSelect label={t('catalogAllowedUse')} value={uses} onChange={setUses} data={DUO_CHOICES} />
        {uses.includes(DISEASE_SPECIFIC) && (
          <TextInput
            label={t('catalogDisease')}
            placeholder="MONDO:0005148"
            required
            value={disease}
            onChange={(e) => setDisease(e.currentTarget.value)}
          />
        )}
        <SimpleGrid cols={2}>
          <TextInput
            label={t('catalogContactName')}
            required
            value={contactName}
            onChange={(e) => setContactName(e.currentTarget.value)}
          />
          <TextInput
            label={t('catalogContactEmail')}
            type="email"
            required
            value={contactEmail}
            onChange={(e) => setContactEmail(e.currentTarget.value)}
          />
        </SimpleGrid>
        {save.isError && (
          <Alert color="red" role="alert" title={t('catalogSaveFailed')}>
            {save.error.message}
          </Alert>
        )}
        <Group>
          <Button type="submit" loading={save.isPending}>
            {t('catalogSave')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
