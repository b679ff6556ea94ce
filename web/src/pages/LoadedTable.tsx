import { Loader, Table, Text } from '@mantine/core';
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { type MessageKey, useI18n } from '../i18n.tsx';

/**
 * A query's loading and error states, then a striped table under these column headings
 * (null: an empty heading, e.g. above row buttons). The account pages share it.
 */
export function LoadedTable<T>({
  query,
  columns,
  rows,
  emptyText,
  isEmpty,
  testId,
}: {
  query: UseQueryResult<T, Error>;
  columns: readonly (MessageKey | null)[];
  rows: (data: T) => ReactNode;
  emptyText?: MessageKey;
  isEmpty?: (data: T) => boolean;
  testId?: string;
}) {
  const { t } = useI18n();
  if (query.isPending) return <Loader aria-label={t('loading')} />;
  if (query.error) return <LoadFailed error={query.error} />;
  if (emptyText && isEmpty?.(query.data)) return <Text c="dimmed">{t(emptyText)}</Text>;
  return (
    <Table striped data-testid={testId}>
      <Table.Thead>
        <Table.Tr>
          {columns.map((column, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: fixed column list
            <Table.Th key={i}>{column ? t(column) : null}</Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>{rows(query.data)}</Table.Tbody>
    </Table>
  );
}
