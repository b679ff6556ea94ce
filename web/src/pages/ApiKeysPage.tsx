import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  MultiSelect,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { API_SCOPES, type ApiKeyView, type ApiScope } from '../../../src/protocol/auth.ts';
import { accountApi } from '../account-api.ts';
import { useI18n } from '../i18n.tsx';
import { LoadedTable } from './LoadedTable.tsx';

function keyState(key: ApiKeyView): 'revoked' | 'expired' | 'active' {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

/** The signed-in user's API keys for scripts: create (the key is shown once), list, revoke. */
export function ApiKeysPage() {
  const { t, language } = useI18n();
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: accountApi.apiKeys });
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiScope[]>(['catalog:read']);
  const [expiresOn, setExpiresOn] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () =>
      accountApi.createApiKey({
        name,
        scopes,
        expiresAt: expiresOn ? new Date(`${expiresOn}T23:59:59`).toISOString() : null,
      }),
    onSuccess: ({ token }) => {
      setCreated(token);
      setName('');
      void queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: accountApi.revokeApiKey,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['api-keys'] }),
  });
  const date = (iso: string | null) => (iso ? new Date(iso).toLocaleString(language) : '—');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };

  return (
    <Stack>
      <Title order={2}>{t('apiKeys')}</Title>
      <Text size="sm" c="dimmed">
        {t('apiKeysIntro')}
      </Text>
      <Card withBorder>
        <form onSubmit={submit}>
          <Stack>
            <Title order={4}>{t('apiKeyCreate')}</Title>
            <TextInput
              label={t('apiKeyName')}
              required
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
            />
            <MultiSelect
              label={t('apiKeyScopes')}
              data={API_SCOPES.map((s) => ({ value: s, label: s }))}
              value={scopes}
              onChange={(value) => setScopes(value as ApiScope[])}
              required
            />
            <TextInput
              label={t('apiKeyExpires')}
              description={t('apiKeyExpiresHint')}
              type="date"
              value={expiresOn}
              onChange={(e) => setExpiresOn(e.currentTarget.value)}
            />
            {create.error && (
              <Alert color="red" role="alert">
                {create.error.message}
              </Alert>
            )}
            <Group>
              <Button type="submit" loading={create.isPending} disabled={!name || scopes.length === 0}>
                {t('apiKeyCreate')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Card>
      {created && (
        <Alert color="teal" title={t('apiKeyCreated')} data-testid="new-api-key">
          <Stack gap="xs">
            <Text size="sm">{t('apiKeyShownOnce')}</Text>
            <Code block>{created}</Code>
            <Group>
              <CopyButton value={created}>
                {({ copied, copy }) => (
                  <Button size="xs" variant="light" onClick={copy}>
                    {copied ? t('acctCopied') : t('acctCopy')}
                  </Button>
                )}
              </CopyButton>
              <Button size="xs" variant="subtle" onClick={() => setCreated(null)}>
                {t('acctDismiss')}
              </Button>
            </Group>
          </Stack>
        </Alert>
      )}
      <LoadedTable
        query={keys}
        testId="api-keys"
        emptyText="apiKeyNone"
        isEmpty={(data) => data.keys.length === 0}
        columns={[
          'apiKeyName',
          'apiKeyScopes',
          'apiKeyCreatedAt',
          'apiKeyExpires',
          'apiKeyLastUsed',
          'status',
          null,
        ]}
        rows={(data) =>
          data.keys.map((key) => {
            const state = keyState(key);
            return (
              <Table.Tr key={key.id} data-testid="api-key-row" data-state={state}>
                <Table.Td>
                  {key.name}{' '}
                  <Text span ff="monospace" size="xs" c="dimmed">
                    itda_{key.id}_…
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {key.scopes.map((s) => (
                      <Badge key={s} variant="light" size="sm">
                        {s}
                      </Badge>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>{date(key.createdAt)}</Table.Td>
                <Table.Td>{date(key.expiresAt)}</Table.Td>
                <Table.Td>{date(key.lastUsedAt)}</Table.Td>
                <Table.Td>
                  <Badge color={state === 'active' ? 'teal' : 'gray'} variant="light">
                    {t(
                      state === 'active'
                        ? 'apiKeyActive'
                        : state === 'revoked'
                          ? 'apiKeyRevoked'
                          : 'apiKeyExpired',
                    )}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  {state === 'active' && (
                    <Button
                      size="xs"
                      color="red"
                      variant="light"
                      loading={revoke.isPending && revoke.variables === key.id}
                      onClick={() => revoke.mutate(key.id)}
                    >
                      {t('apiKeyRevoke')}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })
        }
      />
    </Stack>
  );
}
