import { Button } from '@mantine/core';
import type { ReactNode } from 'react';
import type { User } from '../api.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';
import { ApplicationPage } from '../pages/ApplicationPage.tsx';
import { ApplicationsPage } from '../pages/ApplicationsPage.tsx';
import { AuditPage } from '../pages/AuditPage.tsx';
import { PermitPage } from '../pages/PermitPage.tsx';
import { ReviewPage } from '../pages/ReviewPage.tsx';
import { ReviewsPage } from '../pages/ReviewsPage.tsx';
import { navigate } from '../router.ts';

const UUID = '[0-9a-fA-F-]{36}';

/** The access workflow's pages by path: applications, DRB reviews, permits, the audit log. */
export function accessPageFor(path: string, user: User): ReactNode | null {
  const id = (prefix: string) => new RegExp(`^/${prefix}/(${UUID})$`).exec(path)?.[1];
  if (path === '/applications') return <ApplicationsPage user={user} />;
  const applicationId = id('applications');
  if (applicationId) return <ApplicationPage key={applicationId} id={applicationId} user={user} />;
  if (path === '/reviews') return <ReviewsPage user={user} />;
  const reviewId = id('reviews');
  if (reviewId) return <ReviewPage key={reviewId} id={reviewId} user={user} />;
  const permitId = id('permits');
  if (permitId) return <PermitPage key={permitId} id={permitId} user={user} />;
  if (path === '/admin/audit' && user.roles.includes('admin')) return <AuditPage />;
  return null;
}

/** Header links to the access workflow, each shown to those it concerns. */
export function AccessNav({ user, path }: { user: User; path: string }) {
  const { t } = useI18n();
  const admin = user.roles.includes('admin');
  const links: { href: string; label: MessageKey }[] = [
    { href: '/applications', label: 'applications' },
    ...(admin || user.siteRoles.length > 0 ? [{ href: '/reviews', label: 'reviewInbox' as const }] : []),
    ...(admin ? [{ href: '/admin/audit', label: 'auditLog' as const }] : []),
  ];
  return links.map((link) => (
    <Button
      key={link.href}
      component="a"
      href={link.href}
      variant={path.startsWith(link.href) ? 'light' : 'subtle'}
      size="xs"
      onClick={(e: React.MouseEvent) => {
        e.preventDefault();
        navigate(link.href);
      }}
    >
      {t(link.label)}
    </Button>
  ));
}
