import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Group,
  MultiSelect,
  PasswordInput,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import {
  ROLES,
  type Role,
  SITE_ROLES,
  type SiteRole,
  type SiteRoleName,
} from '../../../src/protocol/auth.ts';
import { accountApi, type UserChange } from '../account-api.ts';
import { api, type User } from '../api.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { LoadedTable } from './LoadedTable.tsx';

const ROLE_LABEL: Record<Role, MessageKey> = {
  researcher: 'roleResearcher',
  steward: 'roleSteward',
  drb_member: 'roleDrbMember',
  irb_officer: 'roleIrbOfficer',
  admin: 'roleAdmin',
};

function useChoices() {
  const { t, language } = useI18n();
  const organisations = useQuery({ queryKey: ['organisations'], queryFn: accountApi.organisations });
  const health = useQuery({ queryKey: ['health'], queryFn: api.health });
  return {
    roles: ROLES.map((r) => ({ value: r, label: t(ROLE_LABEL[r]) })),
    siteRoles: SITE_ROLES.map((r) => ({ value: r, label: t(ROLE_LABEL[r]) })),
    organisations: (organisations.data?.organisations ?? []).map((o) => ({
      value: o.id,
      label: language === 'ko' ? o.nameKo : o.nameEn,
    })),
    sites: (health.data?.sites ?? []).map((s) => ({ value: s.id, label: `${s.name} (${s.id})` })),
  };
}

/** Per-site roles as rows of site + role; the hub refuses sites that are not registered. */
function SiteRolesEditor({ value, onChange }: { value: SiteRole[]; onChange: (value: SiteRole[]) => void }) {
  const { t } = useI18n();
  const choices = useChoices();
  const [siteId, setSiteId] = useState<string | null>(null);
  const [role, setRole] = useState<SiteRoleName>('steward');
  const add = () => {
    if (!siteId || value.some((r) => r.siteId === siteId && r.role === role)) return;
    onChange([...value, { siteId, role }]);
  };
  return (
    <Stack gap="xs">
      <Text size="sm" fw={500}>
        {t('siteRoles')}
      </Text>
      {value.length === 0 && (
        <Text size="sm" c="dimmed">
          {t('siteRolesNone')}
        </Text>
      )}
      {value.map((r) => (
        <Group key={`${r.siteId}:${r.role}`} gap="xs" data-testid="site-role">
          <Badge variant="light">{r.siteId}</Badge>
          <Text size="sm">{t(ROLE_LABEL[r.role])}</Text>
          <ActionIcon
            size="sm"
            variant="subtle"
            color="red"
            aria-label={t('acctRemove')}
            onClick={() => onChange(value.filter((x) => x !== r))}
          >
            ×
          </ActionIcon>
        </Group>
      ))}
      <Group align="end" gap="xs">
        <Select
          label={t('site')}
          data={choices.sites}
          value={siteId}
          onChange={setSiteId}
          searchable
          w={260}
        />
        <Select
          label={t('acctRole')}
          data={choices.siteRoles}
          value={role}
          onChange={(v) => v && setRole(v as SiteRoleName)}
          allowDeselect={false}
          w={200}
        />
        <Button variant="light" onClick={add} disabled={!siteId}>
          {t('siteRoleAdd')}
        </Button>
      </Group>
    </Stack>
  );
}

function UserEditor({ user, onDone }: { user: User; onDone: () => void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const choices = useChoices();
  const [change, setChange] = useState<
    Required<Pick<UserChange, 'name' | 'roles' | 'siteRoles' | 'active'>> & {
      organisationId: string | null;
    }
  >({
    name: user.name,
    roles: user.roles as Role[],
    organisationId: user.organisationId,
    siteRoles: user.siteRoles,
    active: user.active,
  });
  const done = () => {
    void queryClient.invalidateQueries({ queryKey: ['admin-users'] });
    onDone();
  };
  const save = useMutation({ mutationFn: () => accountApi.updateUser(user.id, change), onSuccess: done });
  const deactivate = useMutation({ mutationFn: () => accountApi.deactivateUser(user.id), onSuccess: done });
  return (
    <Stack gap="sm" data-testid="user-editor">
      <Group grow align="end">
        <TextInput
          label={t('acctName')}
          value={change.name}
          onChange={(e) => setChange({ ...change, name: e.currentTarget.value })}
        />
        <Select
          label={t('acctOrganisation')}
          data={choices.organisations}
          value={change.organisationId}
          onChange={(organisationId) => setChange({ ...change, organisationId })}
          clearable
        />
        <MultiSelect
          label={t('acctRoles')}
          data={choices.roles}
          value={change.roles}
          onChange={(roles) => setChange({ ...change, roles: roles as Role[] })}
        />
      </Group>
      <SiteRolesEditor
        value={change.siteRoles}
        onChange={(siteRoles) => setChange({ ...change, siteRoles })}
      />
      <Switch
        label={t('userActive')}
        checked={change.active}
        onChange={(e) => setChange({ ...change, active: e.currentTarget.checked })}
      />
      {(save.error ?? deactivate.error) && (
        <Alert color="red">{(save.error ?? deactivate.error)?.message}</Alert>
      )}
      <Group>
        <Button size="xs" onClick={() => save.mutate()} loading={save.isPending}>
          {t('acctSave')}
        </Button>
        <Button size="xs" variant="subtle" onClick={onDone}>
          {t('acctCancel')}
        </Button>
        {user.active && (
          <Button
            size="xs"
            color="red"
            variant="light"
            onClick={() => deactivate.mutate()}
            loading={deactivate.isPending}
          >
            {t('userDeactivate')}
          </Button>
        )}
      </Group>
    </Stack>
  );
}

function NewUserForm() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const choices = useChoices();
  const empty = {
    email: '',
    name: '',
    password: '',
    roles: [] as Role[],
    organisationId: null as string | null,
  };
  const [draft, setDraft] = useState(empty);
  const create = useMutation({
    mutationFn: () =>
      accountApi.createUser({
        email: draft.email,
        name: draft.name,
        roles: draft.roles,
        organisationId: draft.organisationId,
        siteRoles: [],
        ...(draft.password ? { password: draft.password } : {}),
      }),
    onSuccess: () => {
      setDraft(empty);
      void queryClient.invalidateQueries({ queryKey: ['admin-users'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Card withBorder>
      <form onSubmit={submit}>
        <Stack>
          <Title order={4}>{t('userCreate')}</Title>
          <Group grow align="end">
            <TextInput
              label={t('email')}
              type="email"
              required
              value={draft.email}
              onChange={(e) => setDraft({ ...draft, email: e.currentTarget.value })}
            />
            <TextInput
              label={t('acctName')}
              required
              value={draft.name}
              onChange={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
            />
            <PasswordInput
              label={t('password')}
              description={t('userPasswordHint')}
              value={draft.password}
              onChange={(e) => setDraft({ ...draft, password: e.currentTarget.value })}
            />
          </Group>
          <Group grow align="end">
            <Select
              label={t('acctOrganisation')}
              data={choices.organisations}
              value={draft.organisationId}
              onChange={(organisationId) => setDraft({ ...draft, organisationId })}
              clearable
            />
            <MultiSelect
              label={t('acctRoles')}
              data={choices.roles}
              value={draft.roles}
              onChange={(roles) => setDraft({ ...draft, roles: roles as Role[] })}
            />
          </Group>
          {create.error && (
            <Alert color="red" role="alert">
              {create.error.message}
            </Alert>
          )}
          <Group>
            <Button type="submit" loading={create.isPending}>
              {t('userCreate')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

/** The operator's list of accounts, with roles, organisation and per-site roles. */
export function AdminUsersPage() {
  const { t } = useI18n();
  const users = useQuery({ queryKey: ['admin-users'], queryFn: accountApi.users });
  const choices = useChoices();
  const [editing, setEditing] = useState<string | null>(null);
  const organisationName = (id: string | null) =>
    choices.organisations.find((o) => o.value === id)?.label ?? '—';
  return (
    <Stack>
      <Title order={2}>{t('acctUsers')}</Title>
      <NewUserForm />
      <LoadedTable
        query={users}
        columns={['email', 'acctName', 'acctOrganisation', 'acctRoles', 'siteRoles', 'status', null]}
        rows={(data) =>
          data.users.map((user) =>
            editing === user.id ? (
              <Table.Tr key={user.id} data-testid="user-row" data-email={user.email}>
                <Table.Td colSpan={7}>
                  <Text fw={500} mb="xs">
                    {user.email}
                  </Text>
                  <UserEditor user={user} onDone={() => setEditing(null)} />
                </Table.Td>
              </Table.Tr>
            ) : (
              <Table.Tr key={user.id} data-testid="user-row" data-email={user.email}>
                <Table.Td>{user.email}</Table.Td>
                <Table.Td>{user.name}</Table.Td>
                <Table.Td>{organisationName(user.organisationId)}</Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {user.roles.map((r) => (
                      <Badge key={r} variant="light" size="sm">
                        {t(ROLE_LABEL[r as Role] ?? 'acctRoles')}
                      </Badge>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {user.siteRoles.map((r) => (
                      <Badge key={`${r.siteId}:${r.role}`} variant="outline" size="sm">
                        {r.siteId} · {t(ROLE_LABEL[r.role])}
                      </Badge>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>
                  <Badge color={user.active ? 'teal' : 'gray'} variant="light">
                    {user.active ? t('userActive') : t('userInactive')}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Button size="xs" variant="light" onClick={() => setEditing(user.id)}>
                    {t('acctEdit')}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ),
          )
        }
      />
    </Stack>
  );
}
