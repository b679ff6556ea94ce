import {
  Alert,
  Anchor,
  Badge,
  Card,
  Group,
  Loader,
  RingProgress,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { DisclosedCount, ProfileReport, QualityReport } from '../../../src/protocol/reports.ts';
import { api } from '../api.ts';
import { EChart } from '../components/EChart.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { useI18n } from '../i18n.tsx';
import { navigate } from '../router.ts';

type Analysis = ProfileReport['analyses'][number];
/** A suppressed "<N" is drawn at N/2, so small cells stay visible without a made-up value. */
const numeric = (count: DisclosedCount) => (typeof count === 'number' ? count : Number(count.slice(1)) / 2);

function QualitySection({ report }: { report: QualityReport }) {
  const { t } = useI18n();
  const [search, setSearch] = useState('');
  const [category, setCategory] = useState<string | null>(null);
  const failing = report.checks.filter(
    (c) =>
      (c.status === 'failed' || c.status === 'error') &&
      (!category || `${c.context} ${c.category}` === category) &&
      `${c.checkName} ${c.cdmTableName} ${c.cdmFieldName ?? ''}`.toLowerCase().includes(search.toLowerCase()),
  );
  const percent = report.overall.percentPassed ?? 0;
  return (
    <Card withBorder data-testid="quality">
      <Title order={3} mb="sm">
        {t('quality')}
      </Title>
      <Group align="flex-start" gap="xl">
        <Stack align="center" gap={0}>
          <RingProgress
            size={120}
            thickness={12}
            sections={[{ value: percent, color: percent >= 95 ? 'teal' : percent >= 80 ? 'yellow' : 'red' }]}
            label={
              <Text ta="center" fw={700} data-testid="quality-percent">
                {percent}%
              </Text>
            }
          />
          <Text size="sm" c="dimmed">
            {t('checksPassed')} · {report.overall.run} {t('checks')}
          </Text>
        </Stack>
        <Table striped withTableBorder style={{ flex: 1 }}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('context')}</Table.Th>
              <Table.Th>{t('category')}</Table.Th>
              <Table.Th>{t('passed')}</Table.Th>
              <Table.Th>{t('failed')}</Table.Th>
              <Table.Th>{t('notApplicable')}</Table.Th>
              <Table.Th>%</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {report.byCategory.map((c) => (
              <Table.Tr key={`${c.context}-${c.category}`} data-testid="quality-category">
                <Table.Td>{c.context}</Table.Td>
                <Table.Td>{c.category}</Table.Td>
                <Table.Td>{c.passed}</Table.Td>
                <Table.Td>{c.failed}</Table.Td>
                <Table.Td>{c.notApplicable}</Table.Td>
                <Table.Td>{c.percentPassed ?? '–'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Group>
      <Title order={4} mt="lg" mb="xs">
        {t('failingChecks')}
      </Title>
      <Group mb="xs">
        <TextInput
          aria-label={t('search')}
          placeholder={t('search')}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
        />
        <Select
          aria-label={t('category')}
          placeholder={t('allCategories')}
          clearable
          value={category}
          onChange={setCategory}
          data={report.byCategory.map((c) => `${c.context} ${c.category}`)}
        />
      </Group>
      {failing.length === 0 ? (
        <Text c="dimmed">{t('noFailingChecks')}</Text>
      ) : (
        <Table striped highlightOnHover fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('check')}</Table.Th>
              <Table.Th>{t('table')}</Table.Th>
              <Table.Th>{t('field')}</Table.Th>
              <Table.Th>{t('violated')}</Table.Th>
              <Table.Th>%</Table.Th>
              <Table.Th>{t('threshold')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {failing.slice(0, 200).map((c) => (
              <Table.Tr
                key={`${c.checkName}-${c.cdmTableName}-${c.cdmFieldName}-${c.conceptId}`}
                data-testid="failing-check"
              >
                <Table.Td title={c.description}>{c.checkName}</Table.Td>
                <Table.Td>{c.cdmTableName}</Table.Td>
                <Table.Td>{c.cdmFieldName ?? (c.conceptId ? String(c.conceptId) : '')}</Table.Td>
                <Table.Td>{c.numViolatedRows}</Table.Td>
                <Table.Td>{c.pctViolatedRows === null ? '' : (c.pctViolatedRows * 100).toFixed(2)}</Table.Td>
                <Table.Td>{c.thresholdPercent}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

function topBars(analysis: Analysis | undefined, names: Record<string, string>) {
  const rows = (analysis?.rows ?? []).slice(0, 10).reverse();
  return {
    tooltip: {},
    grid: { left: 220, right: 20, top: 10, bottom: 30 },
    xAxis: { type: 'value' },
    yAxis: {
      type: 'category',
      data: rows.map((r) => (names[r.strata[0] ?? ''] ?? r.strata[0] ?? '').slice(0, 40)),
    },
    series: [{ type: 'bar', data: rows.map((r) => numeric(r.count)), itemStyle: { color: '#12b886' } }],
  };
}

const analysisById = (report: ProfileReport, id: number) => report.analyses.find((a) => a.analysisId === id);

function ProfileSection({ report }: { report: ProfileReport }) {
  const { t } = useI18n();
  const byId = (id: number) => analysisById(report, id);
  const persons = byId(1)?.rows[0]?.count ?? 0;
  const pyramid = useMemo(() => {
    const year = new Date().getFullYear();
    const bands = Array.from({ length: 18 }, (_, i) => i * 5);
    const tally = (gender: string) =>
      bands.map((lower) =>
        (analysisById(report, 10)?.rows ?? [])
          .filter((r) => r.strata[1] === gender)
          .filter((r) => {
            const age = year - Number(r.strata[0]);
            return lower === 85 ? age >= 85 : age >= lower && age < lower + 5;
          })
          .reduce((sum, r) => sum + numeric(r.count), 0),
      );
    return {
      tooltip: {},
      legend: { data: [t('male'), t('female')] },
      grid: { left: 60, right: 20, top: 30, bottom: 30 },
      xAxis: { type: 'value', axisLabel: { formatter: (v: number) => String(Math.abs(v)) } },
      yAxis: { type: 'category', data: bands.map((b) => (b === 85 ? '85+' : `${b}–${b + 4}`)) },
      series: [
        {
          name: t('male'),
          type: 'bar',
          stack: 'age',
          data: tally('8507').map((v) => -v),
          itemStyle: { color: '#228be6' },
        },
        {
          name: t('female'),
          type: 'bar',
          stack: 'age',
          data: tally('8532'),
          itemStyle: { color: '#e64980' },
        },
      ],
    };
  }, [report, t]);
  const overTime = useMemo(() => {
    const series = [
      [220, t('visits')],
      [420, t('conditions')],
      [720, t('drugs')],
      [1820, t('measurements')],
    ] as const;
    const months = [
      ...new Set(
        series.flatMap(([id]) => (analysisById(report, id)?.rows ?? []).map((r) => r.strata[0] ?? '')),
      ),
    ].sort();
    return {
      tooltip: { trigger: 'axis' },
      legend: { data: series.map(([, name]) => name) },
      grid: { left: 60, right: 20, top: 30, bottom: 30 },
      xAxis: { type: 'category', data: months },
      yAxis: { type: 'value' },
      series: series.map(([id, name]) => {
        const counts = new Map(
          (analysisById(report, id)?.rows ?? []).map((r) => [r.strata[0], numeric(r.count)]),
        );
        return { name, type: 'line', showSymbol: false, data: months.map((m) => counts.get(m) ?? 0) };
      }),
    };
  }, [report, t]);
  return (
    <Card withBorder data-testid="profile">
      <Group justify="space-between" mb="sm">
        <Title order={3}>{t('profile')}</Title>
        <Badge variant="light" size="lg" data-testid="profile-persons">
          {t('persons')}: {persons}
        </Badge>
      </Group>
      <Text size="xs" c="dimmed" mb="sm">
        {t('suppressedNote')}
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <div>
          <Text fw={600}>{t('agePyramid')}</Text>
          <EChart option={pyramid} testId="chart-pyramid" />
        </div>
        <div>
          <Text fw={600}>{t('recordsOverTime')}</Text>
          <EChart option={overTime} testId="chart-over-time" />
        </div>
        <div>
          <Text fw={600}>{t('topConditions')}</Text>
          <EChart option={topBars(byId(401), report.concepts)} testId="chart-conditions" />
        </div>
        <div>
          <Text fw={600}>{t('topDrugs')}</Text>
          <EChart option={topBars(byId(701), report.concepts)} testId="chart-drugs" />
        </div>
        <div>
          <Text fw={600}>{t('topMeasurements')}</Text>
          <EChart option={topBars(byId(1801), report.concepts)} testId="chart-measurements" />
        </div>
      </SimpleGrid>
    </Card>
  );
}

export function SitePage({ siteId }: { siteId: string }) {
  const { t } = useI18n();
  const quality = useQuery({ queryKey: ['quality', siteId], queryFn: () => api.siteQuality(siteId) });
  const profile = useQuery({ queryKey: ['profile', siteId], queryFn: () => api.siteProfile(siteId) });
  const site = useQuery({ queryKey: ['health'], queryFn: api.health }).data?.sites.find(
    (s) => s.id === siteId,
  );
  return (
    <Stack>
      <Anchor
        href="/"
        onClick={(e) => {
          e.preventDefault();
          navigate('/');
        }}
      >
        {t('back')}
      </Anchor>
      <Title order={2} data-testid="site-title">
        {site?.name ?? siteId}
      </Title>
      {[quality, profile].some((q) => q.isPending) && <Loader aria-label={t('loading')} />}
      {(
        [
          ['quality', quality],
          ['profile', profile],
        ] as const
      ).map(([name, q]) => (q.isError ? <LoadFailed key={name} error={q.error} /> : null))}
      {quality.data === null && profile.data === null && <Alert color="gray">{t('notPublished')}</Alert>}
      {quality.data && (
        <>
          <Text size="sm" c="dimmed">
            {t('generatedAt')}: {new Date(quality.data.generatedAt).toLocaleString()}
          </Text>
          <QualitySection report={quality.data.report} />
        </>
      )}
      {profile.data && <ProfileSection report={profile.data.report} />}
    </Stack>
  );
}
