/**
 * The demo network's organisations and accounts, created when missing. Every demo
 * account has the password `itda-demo`. Seeding is set-up, not an action anyone took,
 * so it writes no audit entries.
 */
import { randomUUID } from 'node:crypto';
import type { OrganisationKind, Role, SiteRole } from '../../protocol/auth.ts';
import type { HubContext } from '../context.ts';
import { hashPassword } from './service.ts';
import { addSiteRole, findUserByEmail, insertOrganisation, insertUser, updateUser } from './store.ts';

export const DEMO_PASSWORD = 'itda-demo';

export interface DemoOrganisation {
  id: string;
  nameKo: string;
  nameEn: string;
  kind: OrganisationKind;
  /** The demo site this hospital runs. */
  siteId?: string;
}

export const DEMO_ORGANISATIONS: readonly DemoOrganisation[] = [
  {
    id: 'seoul-haneul',
    nameKo: '서울하늘병원',
    nameEn: 'Seoul Haneul Hospital',
    kind: 'hospital',
    siteId: 'site-1',
  },
  {
    id: 'busan-bada',
    nameKo: '부산바다병원',
    nameEn: 'Busan Bada Hospital',
    kind: 'hospital',
    siteId: 'site-2',
  },
  {
    id: 'daejeon-forest',
    nameKo: '대전숲병원',
    nameEn: 'Daejeon Forest Hospital',
    kind: 'hospital',
    siteId: 'site-3',
  },
  { id: 'hanbit-ai', nameKo: '한빛AI', nameEn: 'Hanbit AI', kind: 'company' },
  { id: 'hangang-univ', nameKo: '한강대학교', nameEn: 'Hangang University', kind: 'university' },
  { id: 'itda-operator', nameKo: '잇다 플랫폼 운영기관', nameEn: 'Itda Platform Operator', kind: 'operator' },
];

export interface DemoAccount {
  email: string;
  name: string;
  password: string;
  roles: Role[];
  organisationId: string | null;
  siteRoles: SiteRole[];
  /** For DRB members: true when the member comes from outside the hospital. */
  external?: boolean;
}

const DEMO_SITE_IDS = ['site-1', 'site-2', 'site-3'] as const;

/** The accounts the demo banner lists. */
export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  {
    email: 'admin@itda.demo',
    name: '운영자 Admin',
    password: DEMO_PASSWORD,
    roles: ['admin'],
    organisationId: 'itda-operator',
    siteRoles: [],
  },
  {
    email: 'researcher@itda.demo',
    name: '김연구 Researcher',
    password: DEMO_PASSWORD,
    roles: ['researcher'],
    organisationId: 'hangang-univ',
    siteRoles: [],
  },
  {
    email: 'steward@itda.demo',
    name: '이관리 Steward',
    password: DEMO_PASSWORD,
    roles: ['steward'],
    organisationId: null,
    siteRoles: DEMO_SITE_IDS.map((siteId) => ({ siteId, role: 'steward' as const })),
  },
];

const DRB_MEMBER_LETTERS = ['a', 'b', 'c', 'd', 'e'] as const;
/** Members d and e come from outside the hospital (the Korean rule asks for at least 2). */
const EXTERNAL_LETTERS = new Set(['d', 'e']);

/**
 * Per-site accounts: `steward<N>@itda.demo` stewards site-N; `drb<N>-a` … `drb<N>-e`
 * sit on site-N's DRB, d and e as external members from the university and the company.
 */
export const DEMO_SITE_ACCOUNTS: readonly DemoAccount[] = DEMO_SITE_IDS.flatMap((siteId, i) => {
  const n = i + 1;
  const hospital = DEMO_ORGANISATIONS.find((o) => o.siteId === siteId)!;
  const steward: DemoAccount = {
    email: `steward${n}@itda.demo`,
    name: `${hospital.nameKo} 데이터 담당자 Steward ${n}`,
    password: DEMO_PASSWORD,
    roles: [],
    organisationId: hospital.id,
    siteRoles: [{ siteId, role: 'steward' }],
  };
  const members = DRB_MEMBER_LETTERS.map((letter): DemoAccount => {
    const external = EXTERNAL_LETTERS.has(letter);
    return {
      email: `drb${n}-${letter}@itda.demo`,
      name: `${hospital.nameKo} DRB ${letter.toUpperCase()}${external ? ' (외부 external)' : ''}`,
      password: DEMO_PASSWORD,
      roles: [],
      organisationId: external ? (letter === 'd' ? 'hangang-univ' : 'hanbit-ai') : hospital.id,
      siteRoles: [{ siteId, role: 'drb_member' }],
      external,
    };
  });
  return [steward, ...members];
});

/** The IRB officer and a company researcher round out the demo's cast. */
export const DEMO_OTHER_ACCOUNTS: readonly DemoAccount[] = [
  {
    email: 'irb@itda.demo',
    name: '박심의 IRB Officer',
    password: DEMO_PASSWORD,
    roles: ['irb_officer'],
    organisationId: 'hangang-univ',
    siteRoles: [],
  },
  {
    email: 'company@itda.demo',
    name: '최기업 Company Researcher',
    password: DEMO_PASSWORD,
    roles: ['researcher'],
    organisationId: 'hanbit-ai',
    siteRoles: [],
  },
];

/** Creates the demo organisations and accounts that are missing; existing ones keep their state. */
export async function seedDemoAccounts(ctx: HubContext): Promise<void> {
  for (const org of DEMO_ORGANISATIONS) await insertOrganisation(ctx.db, org);
  // One hash for the shared demo password keeps the first start quick; demo only.
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  for (const account of [...DEMO_ACCOUNTS, ...DEMO_SITE_ACCOUNTS, ...DEMO_OTHER_ACCOUNTS]) {
    let row = await findUserByEmail(ctx.db, account.email);
    if (!row) {
      row = await insertUser(ctx.db, {
        id: randomUUID(),
        email: account.email,
        name: account.name,
        passwordHash,
        roles: account.roles,
        organisationId: account.organisationId,
      });
      for (const siteRole of account.siteRoles) await addSiteRole(ctx.db, { userId: row.id, ...siteRole });
    } else if (row.organisation_id === null && account.organisationId !== null) {
      // A demo created before organisations existed gets them on its next start.
      await updateUser(ctx.db, row.id, { organisationId: account.organisationId });
      for (const siteRole of account.siteRoles) await addSiteRole(ctx.db, { userId: row.id, ...siteRole });
    }
  }
}
