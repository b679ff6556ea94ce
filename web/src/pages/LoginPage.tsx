import {
  Alert,
  Button,
  Center,
  Group,
  Paper,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { LanguageSwitch } from '../App.tsx';
import { api } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { navigate } from '../router.ts';

export function LoginPage() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // Shown only when the hub has an OpenID Connect issuer configured.
  const oidc = useQuery({ queryKey: ['oidc'], queryFn: api.oidcStatus });
  const login = useMutation({
    mutationFn: () => api.login(email, password),
    onSuccess: ({ user }) => {
      queryClient.setQueryData(['me'], user);
      navigate('/');
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate();
  };
  return (
    <Center mih="100vh" bg="gray.0">
      <Paper withBorder shadow="sm" p="xl" radius="md" w={400}>
        <form onSubmit={submit}>
          <Stack>
            <Group justify="space-between">
              <Title order={2}>{t('appName')}</Title>
              <LanguageSwitch />
            </Group>
            <Text size="sm" c="dimmed">
              {t('tagline')}
            </Text>
            {login.error && (
              <Alert color="red" title={t('signInFailed')} role="alert">
                {login.error.message}
              </Alert>
            )}
            <TextInput
              label={t('email')}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
            />
            <PasswordInput
              label={t('password')}
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <Button type="submit" loading={login.isPending}>
              {t('signIn')}
            </Button>
            {oidc.data?.enabled && (
              <Button component="a" href="/api/auth/oidc/login" variant="default">
                {t('signInOidc')}
              </Button>
            )}
            <Text size="xs" c="dimmed">
              {t('demoAccountsHint')}
            </Text>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
