import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Loader,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { accessApi } from '../access-api.ts';
import type { User } from '../api.ts';
import { AppLink } from '../components/AppLink.tsx';
import { LoadFailed } from '../components/LoadFailed.tsx';
import { type MessageKey, useI18n } from '../i18n.tsx';

const STATUS_COLORS = { active: 'teal', not_yet_valid: 'blue', expired: 'gray', revoked: 'red' } as const;

/** A permit as the hub signed it: scope, validity, signature and key id, revocation; revoke for those allowed. */
export function PermitPage({ id, user }: { id: string; user: User }) {
  const { t, language } = useI18n();
  const queryClient = useQueryClient();
  const permit = useQuery({ queryKey: ['permit', id], queryFn: () => accessApi.permit(id) });
  const [reason, setReason] = useState('');
  const revoke = useMutation({
    mutationFn: () => accessApi.revokePermit(id, reason),
    onSuccess: (view) => queryClient.setQueryData(['permit', id], view),
  });
  if (permit.isPending) return <Loader aria-label={t('loading')} />;
  if (permit.isError) return <LoadFailed error={permit.error} />;
  const p = permit.data;
  const body = p.permit.body;
  const when = (iso: string) => new Date(iso).toLocaleString(language);
  // The hub decides; this only hides the button from those it would refuse anyway.
  const mayRevoke =
    p.status !== 'revoked' &&
    (user.roles.includes('admin') ||
      user.siteRoles.some((r) => r.role === 'drb_member' && body.sites.includes(r.siteId)));
  return (
    <Stack gap="md" maw={1100}>
      <AppLink href={`/applications/${p.applicationId}`}>{t('permitBackToApplication')}</AppLink>
      <Group justify="space-between">
        <Title order={2}>{t('permit')}</Title>
        <Badge size="lg" color={STATUS_COLORS[p.status]} data-testid="permit-status" data-status={p.status}>
          {t(`permit_${p.status}` as MessageKey)}
        </Badge>
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <Text size="sm">
            {t('permitId')}: <Code data-testid="permit-id">{p.id}</Code>
          </Text>
          <Text size="sm">
            {t('permitValidity')}: {when(body.notBefore)} – {when(body.notAfter)}
          </Text>
          <Text size="sm" data-testid="permit-sites">
            {t('appSites')}: {body.sites.join(', ')}
          </Text>
          <Text size="sm">
            {t('appDatasets')}: {body.datasets.join(', ') || '—'}
          </Text>
          <Text size="sm">
            {t('permitAnalyses')}: {body.allowedAnalyses.join(', ')} (
            {t(`appMode_${body.analysisMode}` as MessageKey)})
          </Text>
          <Text size="sm">
            {t('permitIssuedAt')}: {when(p.issuedAt)}
          </Text>
          <Text size="sm">
            {t('permitCohortHash')}: <Code>{body.cohortHash}</Code>
          </Text>
          <Text size="sm">
            {t('permitKeyId')}: <Code data-testid="permit-key-id">{p.permit.keyId}</Code>
          </Text>
        </SimpleGrid>
        <Text size="sm" mt="sm">
          {t('permitSignature')}:{' '}
          <Code data-testid="permit-signature" style={{ wordBreak: 'break-all' }}>
            {p.permit.signature}
          </Code>
        </Text>
        {body.conditions.length > 0 && (
          <Stack gap={2} mt="sm">
            <Text size="sm" fw={500}>
              {t('revConditions')}
            </Text>
            {body.conditions.map((c) => (
              <Text key={`${c.siteId}-${c.condition}`} size="sm">
                {c.siteId}: {c.condition}
              </Text>
            ))}
          </Stack>
        )}
        {p.revokedAt && (
          <Alert color="red" mt="sm" data-testid="permit-revoked">
            {t('permitRevokedAt', { time: when(p.revokedAt) })}: {p.revokeReason}
          </Alert>
        )}
      </Card>
      <Card withBorder>
        <Title order={4} mb="sm">
          {t('permitJson')}
        </Title>
        <Code block data-testid="permit-json">
          {JSON.stringify(p.permit, null, 2)}
        </Code>
      </Card>
      {mayRevoke && (
        <Card withBorder>
          <Stack gap="sm">
            <Textarea
              label={t('permitRevokeReason')}
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
            />
            <Group>
              <Button
                color="red"
                disabled={reason.trim() === ''}
                onClick={() => revoke.mutate()}
                loading={revoke.isPending}
              >
                {t('permitRevoke')}
              </Button>
            </Group>
            {revoke.error && <Alert color="red">{revoke.error.message}</Alert>}
          </Stack>
        </Card>
      )}
    </Stack>
  );
}
