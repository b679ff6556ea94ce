import { Badge } from '@mantine/core';
import type { ApplicationState } from '../../../src/protocol/access.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';

const COLORS: Record<ApplicationState, string> = {
  draft: 'gray',
  submitted: 'blue',
  under_review: 'indigo',
  returned: 'orange',
  resubmitted: 'blue',
  approved: 'teal',
  rejected: 'red',
  closed: 'dark',
};

/** An application's state, named in the user's language. */
export function StateBadge({ state }: { state: ApplicationState }) {
  const { t } = useI18n();
  return (
    <Badge color={COLORS[state]} data-testid="application-state" data-state={state}>
      {t(`state_${state}` as MessageKey)}
    </Badge>
  );
}
