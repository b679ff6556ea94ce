import { Button, Group } from '@mantine/core';
import type { User } from '../api.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { navigate } from '../router.ts';

const LINKS: ReadonlyArray<{ path: string; label: MessageKey; adminOnly: boolean }> = [
  { path: '/account/keys', label: 'apiKeys', adminOnly: false },
  { path: '/admin/users', label: 'acctUsers', adminOnly: true },
  { path: '/admin/organisations', label: 'acctOrganisations', adminOnly: true },
];

/** Header links to the user's API keys and, for admins, account administration. */
export function AccountNav({ user, path }: { user: User; path: string }) {
  const { t } = useI18n();
  const isAdmin = user.roles.includes('admin');
  return (
    <Group gap={4}>
      {LINKS.filter((l) => isAdmin || !l.adminOnly).map((link) => (
        <Button
          key={link.path}
          component="a"
          href={link.path}
          variant={path === link.path ? 'light' : 'subtle'}
          size="xs"
          onClick={(e: React.MouseEvent) => {
            e.preventDefault();
            navigate(link.path);
          }}
        >
          {t(link.label)}
        </Button>
      ))}
    </Group>
  );
}
