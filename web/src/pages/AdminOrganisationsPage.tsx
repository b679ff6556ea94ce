import { Alert, Button, Card, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ORGANISATION_KINDS, type Organisation, type OrganisationKind } from '../../../src/protocol/auth.ts';
import { accountApi } from '../account-api.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { LoadedTable } from './LoadedTable.tsx';

export const ORGANISATION_KIND_LABEL: Record<OrganisationKind, MessageKey> = {
  hospital: 'orgKindHospital',
  company: 'orgKindCompany',
  university: 'orgKindUniversity',
  operator: 'orgKindOperator',
};

function OrganisationFields({
  value,
  onChange,
  withId,
}: {
  value: Organisation;
  onChange: (value: Organisation) => void;
  withId: boolean;
}) {
  const { t } = useI18n();
  return (
    <Group align="end" grow>
      {withId && (
        <TextInput
          label={t('orgId')}
          description={t('orgIdHint')}
          required
          value={value.id}
          onChange={(e) => onChange({ ...value, id: e.currentTarget.value })}
        />
      )}
      <TextInput
        label={t('orgNameKo')}
        required
        value={value.nameKo}
        onChange={(e) => onChange({ ...value, nameKo: e.currentTarget.value })}
      />
      <TextInput
        label={t('orgNameEn')}
        required
        value={value.nameEn}
        onChange={(e) => onChange({ ...value, nameEn: e.currentTarget.value })}
      />
      <Select
        label={t('orgKind')}
        data={ORGANISATION_KINDS.map((k) => ({ value: k, label: t(ORGANISATION_KIND_LABEL[k]) }))}
        value={value.kind}
        onChange={(kind) => kind && onChange({ ...value, kind: kind as OrganisationKind })}
        allowDeselect={false}
      />
    </Group>
  );
}

function OrganisationRow({ organisation }: { organisation: Organisation }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Organisation | null>(null);
  const save = useMutation({
    mutationFn: (value: Organisation) =>
      accountApi.updateOrganisation(value.id, {
        nameKo: value.nameKo,
        nameEn: value.nameEn,
        kind: value.kind,
      }),
    onSuccess: () => {
      setDraft(null);
      void queryClient.invalidateQueries({ queryKey: ['organisations'] });
    },
  });
  if (draft) {
    return (
      <Table.Tr data-testid="org-row" data-org-id={organisation.id}>
        <Table.Td colSpan={5}>
          <Stack gap="xs">
            <OrganisationFields value={draft} onChange={setDraft} withId={false} />
            {save.error && <Alert color="red">{save.error.message}</Alert>}
            <Group>
              <Button size="xs" onClick={() => save.mutate(draft)} loading={save.isPending}>
                {t('acctSave')}
              </Button>
              <Button size="xs" variant="subtle" onClick={() => setDraft(null)}>
                {t('acctCancel')}
              </Button>
            </Group>
          </Stack>
        </Table.Td>
      </Table.Tr>
    );
  }
  return (
    <Table.Tr data-testid="org-row" data-org-id={organisation.id}>
      <Table.Td>
        <Text ff="monospace" size="sm">
          {organisation.id}
        </Text>
      </Table.Td>
      <Table.Td>{organisation.nameKo}</Table.Td>
      <Table.Td>{organisation.nameEn}</Table.Td>
      <Table.Td>{t(ORGANISATION_KIND_LABEL[organisation.kind])}</Table.Td>
      <Table.Td>
        <Button size="xs" variant="light" onClick={() => setDraft(organisation)}>
          {t('acctEdit')}
        </Button>
      </Table.Td>
    </Table.Tr>
  );
}

const EMPTY: Organisation = { id: '', nameKo: '', nameEn: '', kind: 'hospital' };

/** The operator's list of organisations: hospitals, companies, universities, the operator. */
export function AdminOrganisationsPage() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const organisations = useQuery({ queryKey: ['organisations'], queryFn: accountApi.organisations });
  const [draft, setDraft] = useState<Organisation>(EMPTY);
  const create = useMutation({
    mutationFn: () => accountApi.createOrganisation(draft),
    onSuccess: () => {
      setDraft(EMPTY);
      void queryClient.invalidateQueries({ queryKey: ['organisations'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Stack>
      <Title order={2}>{t('acctOrganisations')}</Title>
      <Card withBorder>
        <form onSubmit={submit}>
          <Stack>
            <Title order={4}>{t('orgCreate')}</Title>
            <OrganisationFields value={draft} onChange={setDraft} withId />
            {create.error && (
              <Alert color="red" role="alert">
                {create.error.message}
              </Alert>
            )}
            <Group>
              <Button type="submit" loading={create.isPending}>
                {t('orgCreate')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Card>
      <LoadedTable
        query={organisations}
        columns={['orgId', 'orgNameKo', 'orgNameEn', 'orgKind', null]}
        rows={(data) => data.organisations.map((o) => <OrganisationRow key={o.id} organisation={o} />)}
      />
    </Stack>
  );
}
