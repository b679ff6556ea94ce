import { AppShell, Button, Center, Group, Loader, SegmentedControl, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { ApiError, api } from './api.ts';
import { AccessNav, accessPageFor } from './components/AccessNav.tsx';
import { type Language, useI18n } from './i18n.tsx';
import { AccountNav } from './pages/AccountNav.tsx';
import { AdminOrganisationsPage } from './pages/AdminOrganisationsPage.tsx';
import { AdminUsersPage } from './pages/AdminUsersPage.tsx';
import { ApiKeysPage } from './pages/ApiKeysPage.tsx';
import { CatalogPage } from './pages/CatalogPage.tsx';
import { DashboardPage } from './pages/DashboardPage.tsx';
import { FeasibilityPage } from './pages/FeasibilityPage.tsx';
import { InboxBell, InboxPage } from './pages/InboxPage.tsx';
import { LoginPage } from './pages/LoginPage.tsx';
import { MatchingPage } from './pages/MatchingPage.tsx';
import { SitePage } from './pages/SitePage.tsx';
import { navigate, usePath } from './router.ts';

export function LanguageSwitch() {
  const { language, setLanguage, t } = useI18n();
  return (
    <SegmentedControl
      aria-label={t('language')}
      size="xs"
      value={language}
      onChange={(value) => setLanguage(value as Language)}
      data={[
        { value: 'ko', label: '한국어' },
        { value: 'en', label: 'English' },
      ]}
    />
  );
}

export function App() {
  const path = usePath();
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const me = useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      try {
        return (await api.me()).user;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
  });
  const logout = useMutation({
    mutationFn: api.logout,
    onSuccess: () => {
      queryClient.setQueryData(['me'], null);
      navigate('/login');
    },
  });

  const user = me.data;
  useEffect(() => {
    if (me.isSuccess && !user && path !== '/login') navigate('/login');
    if (me.isSuccess && user && path === '/login') navigate('/');
  }, [me.isSuccess, user, path]);

  if (me.isPending) {
    return (
      <Center h="100vh">
        <Loader aria-label={t('loading')} />
      </Center>
    );
  }
  if (!user) return <LoginPage />;
  const accessPage = accessPageFor(path, user);

  return (
    <AppShell header={{ height: 60 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Title order={3}>{t('appName')}</Title>
          <Button
            component="a"
            href="/catalog"
            variant="subtle"
            size="xs"
            onClick={(e: React.MouseEvent) => {
              e.preventDefault();
              navigate('/catalog');
            }}
          >
            {t('catalog')}
          </Button>
          <Button
            component="a"
            href="/feasibility"
            variant={path === '/feasibility' ? 'light' : 'subtle'}
            size="xs"
            onClick={(e: React.MouseEvent) => {
              e.preventDefault();
              navigate('/feasibility');
            }}
          >
            {t('feasibility')}
          </Button>
          <AccessNav user={user} path={path} />
          <Button
            component="a"
            href="/matching"
            variant={path.startsWith('/matching') ? 'light' : 'subtle'}
            size="xs"
            onClick={(e: React.MouseEvent) => {
              e.preventDefault();
              navigate('/matching');
            }}
          >
            {t('matching')}
          </Button>
          <Group gap="md">
            <InboxBell path={path} />
            <AccountNav user={user} path={path} />
            <LanguageSwitch />
            <Text size="sm" data-testid="user-name">
              {user.name}
            </Text>
            <Button variant="light" size="xs" onClick={() => logout.mutate()} loading={logout.isPending}>
              {t('signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Main>
        {path === '/account/keys' ? (
          <ApiKeysPage />
        ) : path === '/admin/users' ? (
          <AdminUsersPage />
        ) : path === '/admin/organisations' ? (
          <AdminOrganisationsPage />
        ) : path === '/feasibility' ? (
          <FeasibilityPage />
        ) : path === '/inbox' ? (
          <InboxPage />
        ) : path.startsWith('/matching') ? (
          <MatchingPage path={path} user={user} />
        ) : accessPage ? (
          accessPage
        ) : path.startsWith('/catalog') ? (
          <CatalogPage path={path} />
        ) : path.startsWith('/sites/') ? (
          <SitePage siteId={decodeURIComponent(path.slice('/sites/'.length))} />
        ) : (
          <DashboardPage />
        )}
      </AppShell.Main>
    </AppShell>
  );
}
