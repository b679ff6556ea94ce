import { Alert } from '@mantine/core';
import { useI18n } from '../i18n.tsx';

/** What every page shows when a read from the hub fails: the reason, under one heading. */
export function LoadFailed({ error }: { error: Error }) {
  const { t } = useI18n();
  return (
    <Alert color="red" title={t('loadFailed')}>
      {error.message}
    </Alert>
  );
}
