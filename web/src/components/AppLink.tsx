import { Anchor } from '@mantine/core';
import type { ReactNode } from 'react';
import { navigate } from '../router.ts';

/** A link inside the app: a real href (open in a new tab works), navigation without a reload. */
export function AppLink({ href, children, testId }: { href: string; children: ReactNode; testId?: string }) {
  return (
    <Anchor
      href={href}
      data-testid={testId}
      onClick={(e) => {
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </Anchor>
  );
}
