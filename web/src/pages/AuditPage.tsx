import {
  Alert,
  Button,
  Card,
  Code,
  Group,
  Loader,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { type AuditFilter, accessApi } from '../access-api.ts';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { useI18n } from '../i18n.tsx';

const PAGE_SIZE = 50;

/** The operator's view of the hash-chained audit log: filtered pages and a check of the whole chain. */
export function AuditPage() {
  const { t, language } = useI18n();
  const [draft, setDraft] = useState({ actorId: '', action: '', targetType: '', targetId: '' });
  const [filter, setFilter] = useState(draft);
  // Each page starts after the last sequence number of the one before; the stack allows going back.
  const [starts, setStarts] = useState<number[]>([0]);
  const afterSeq = starts.at(-1) ?? 0;
  const query: AuditFilter = { ...filter, afterSeq, limit: PAGE_SIZE };
  const page = useQuery({ queryKey: ['audit', query], queryFn: () => accessApi.audit(query) });
  const verify = useMutation({ mutationFn: accessApi.verifyAudit });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter(draft);
    setStarts([0]);
  };
  const entries = page.data?.entries ?? [];
  const verdict = verify.data;
  return (
    <Stack gap="md">
      <Group justify="space-between">
        <Title order={2}>{t('auditLog')}</Title>
        <Button onClick={() => verify.mutate()} loading={verify.isPending}>
          {t('auditVerify')}
        </Button>
      </Group>
      {verdict &&
        (verdict.ok ? (
          <Alert color="teal" data-testid="audit-verdict" data-ok="true">
            {t('auditOk', { n: verdict.entries })} <Code>{verdict.headHash}</Code>
          </Alert>
        ) : (
          <Alert color="red" data-testid="audit-verdict" data-ok="false">
            {t('auditBad', { seq: verdict.firstBadSeq })}: {verdict.reason}
          </Alert>
        ))}
      {verify.error && <Alert color="red">{verify.error.message}</Alert>}
      <Card withBorder>
        <form onSubmit={apply}>
          <Group align="end">
            {(['actorId', 'action', 'targetType', 'targetId'] as const).map((field) => (
              <TextInput
                key={field}
                label={t(`audit_${field}`)}
                value={draft[field]}
                onChange={(e) => setDraft({ ...draft, [field]: e.currentTarget.value.trim() })}
              />
            ))}
            <Button type="submit" variant="light">
              {t('search')}
            </Button>
          </Group>
        </form>
      </Card>
      <Card withBorder>
        {page.isPending ? (
          <Loader aria-label={t('loading')} />
        ) : page.isError ? (
          <LoadFailed error={page.error} />
        ) : entries.length === 0 ? (
          <Text c="dimmed">{t('auditNone')}</Text>
        ) : (
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>#</Table.Th>
                <Table.Th>{t('auditAt')}</Table.Th>
                <Table.Th>{t('audit_actorId')}</Table.Th>
                <Table.Th>{t('audit_action')}</Table.Th>
                <Table.Th>{t('auditTarget')}</Table.Th>
                <Table.Th>{t('auditDetails')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {entries.map((e) => (
                <Table.Tr key={e.seq} data-testid="audit-entry">
                  <Table.Td>{e.seq}</Table.Td>
                  <Table.Td>{new Date(e.at).toLocaleString(language)}</Table.Td>
                  <Table.Td>{e.actorId ?? e.actorType}</Table.Td>
                  <Table.Td>{e.action}</Table.Td>
                  <Table.Td>{e.targetType ? `${e.targetType}:${e.targetId ?? ''}` : '—'}</Table.Td>
                  <Table.Td>
                    <Code style={{ wordBreak: 'break-all' }}>{JSON.stringify(e.details)}</Code>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <Group mt="sm">
          <Button
            variant="default"
            size="xs"
            disabled={starts.length <= 1}
            onClick={() => setStarts(starts.slice(0, -1))}
          >
            {t('previous')}
          </Button>
          <Button
            variant="default"
            size="xs"
            disabled={entries.length < PAGE_SIZE}
            onClick={() => setStarts([...starts, entries.at(-1)!.seq])}
          >
            {t('next')}
          </Button>
        </Group>
      </Card>
    </Stack>
  );
}
