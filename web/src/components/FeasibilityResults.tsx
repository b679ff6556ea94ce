/**
 * One feasibility query's results: per-site counts as they left the sites (a bar chart
 * and a table; "<10" and "not answering" shown as such, never as numbers), the total,
 * and attrition per inclusion rule per site.
 */
import { Alert, Badge, Card, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useMemo } from 'react';
import type {
  FeasibilityCount,
  FeasibilityQueryStatus,
  FeasibilityQueryView,
  FeasibilitySiteResult,
  FeasibilitySiteStatus,
} from '../../../src/protocol/feasibility.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { type ChartOption, EChart } from './EChart.tsx';

const STATUS_KEY: Record<FeasibilitySiteStatus, MessageKey> = {
  pending: 'feasStatusPending',
  answered: 'feasStatusAnswered',
  refused: 'feasStatusRefused',
  failed: 'feasStatusFailed',
  not_answering: 'feasStatusNotAnswering',
};
export const QUERY_STATUS_KEY: Record<FeasibilityQueryStatus, MessageKey> = {
  running: 'feasQueryRunning',
  complete: 'feasQueryComplete',
  refused: 'feasQueryRefused',
};
const STATUS_COLOR: Record<FeasibilitySiteStatus, string> = {
  pending: 'blue',
  answered: 'teal',
  refused: 'orange',
  failed: 'red',
  not_answering: 'gray',
};

export function formatCount(count: FeasibilityCount): string {
  return typeof count === 'number' ? count.toLocaleString('en') : count;
}

/** The upper bound of a suppressed count ("<10" → 9), drawn as such in the chart. */
function chartValue(count: FeasibilityCount): number {
  if (typeof count === 'number') return count;
  return Math.max(0, Number(count.slice(1)) - 1);
}

function SiteChart({ sites }: { sites: FeasibilitySiteResult[] }) {
  const { t } = useI18n();
  const option = useMemo<ChartOption>(
    () => ({
      grid: { left: 60, right: 20, top: 20, bottom: 40 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: sites.map((s) => s.siteName) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        {
          type: 'bar',
          name: t('feasCohortSize'),
          data: sites.map((s) => {
            const count = s.answer?.finalCount;
            if (s.status !== 'answered' || count === undefined)
              return {
                value: 0,
                label: { show: true, position: 'top', formatter: t(STATUS_KEY[s.status]) },
                itemStyle: { color: '#adb5bd' },
              };
            const suppressed = typeof count === 'string';
            return {
              value: chartValue(count),
              label: { show: true, position: 'top', formatter: formatCount(count) },
              itemStyle: suppressed
                ? { color: '#ffd8a8', borderColor: '#e8590c', borderType: 'dashed', borderWidth: 1 }
                : { color: '#12b886' },
            };
          }),
        },
      ],
    }),
    [sites, t],
  );
  return <EChart option={option} height={260} testId="feasibility-chart" />;
}

export function FeasibilityResults({ view }: { view: FeasibilityQueryView }) {
  const { t } = useI18n();
  const running = view.status === 'running';
  const rules = useMemo(() => view.inclusionRules.map((name, sequence) => ({ name, sequence })), [view]);
  return (
    <Card withBorder data-testid="feasibility-results" data-status={view.status}>
      <Stack>
        <Group justify="space-between">
          <Title order={3}>{view.name ?? t('feasUntitled')}</Title>
          <Group gap="xs">
            {running ? <Loader size="xs" /> : null}
            <Badge color={view.status === 'refused' ? 'red' : running ? 'blue' : 'teal'}>
              {t(QUERY_STATUS_KEY[view.status])}
            </Badge>
          </Group>
        </Group>
        {view.refusal ? (
          <Alert color="red" title={t('feasQueryRefused')} data-testid="feasibility-refusal">
            {view.refusal}
          </Alert>
        ) : null}
        {view.total ? (
          <Text data-testid="feasibility-total">
            {t('feasTotal')}: <b>{view.total.display}</b>
            {view.baseTotal ? ` · ${t('feasBaseTotal')}: ${view.baseTotal.display}` : ''}
          </Text>
        ) : null}
        <SiteChart sites={view.sites} />
        <Table striped withTableBorder>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('site')}</Table.Th>
              <Table.Th>{t('status')}</Table.Th>
              <Table.Th>{t('feasBaseCount')}</Table.Th>
              <Table.Th>{t('feasCohortSize')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {view.sites.map((s) => (
              <Table.Tr
                key={s.siteId}
                data-testid="feasibility-site"
                data-site-id={s.siteId}
                data-site-status={s.status}
              >
                <Table.Td>{s.siteName}</Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLOR[s.status]} variant="light">
                    {t(STATUS_KEY[s.status])}
                  </Badge>
                  {s.error ? (
                    <Text size="xs" c="dimmed">
                      {s.error.message}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>{s.answer ? formatCount(s.answer.baseCount) : '–'}</Table.Td>
                <Table.Td data-testid="feasibility-site-count">
                  {s.answer ? formatCount(s.answer.finalCount) : '–'}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {view.inclusionRules.length > 0 ? (
          <>
            <Title order={4}>{t('feasAttrition')}</Title>
            <Table withTableBorder data-testid="feasibility-attrition">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('feasRule')}</Table.Th>
                  {view.sites.map((s) => (
                    <Table.Th key={s.siteId}>{s.siteName}</Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                <Table.Tr>
                  <Table.Td>{t('feasEntryEvents')}</Table.Td>
                  {view.sites.map((s) => (
                    <Table.Td key={s.siteId}>{s.answer ? formatCount(s.answer.baseCount) : '–'}</Table.Td>
                  ))}
                </Table.Tr>
                {rules.map(({ name, sequence }) => (
                  <Table.Tr key={`rule-${sequence}`} data-testid="feasibility-rule">
                    <Table.Td>
                      {sequence + 1}. {name}
                    </Table.Td>
                    {view.sites.map((s) => {
                      const rule = s.answer?.inclusionRules.find((r) => r.ruleSequence === sequence);
                      return (
                        <Table.Td key={s.siteId}>{rule ? formatCount(rule.remainingCount) : '–'}</Table.Td>
                      );
                    })}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </>
        ) : null}
        <Text size="xs" c="dimmed">
          {t('suppressedNote')}
        </Text>
      </Stack>
    </Card>
  );
}
