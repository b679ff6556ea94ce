/**
 * Korean and English UI text. Both dictionaries have exactly the same keys (the type
 * enforces it); every string on screen comes from here.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';

const ko = {
  appName: 'Itda 잇다',
  tagline: '병원 데이터를 병원 밖으로 옮기지 않고 의료 AI에 안전하게',
  language: '언어',
  signIn: '로그인',
  signOut: '로그아웃',
  email: '이메일',
  password: '비밀번호',
  signingIn: '로그인 중…',
  signInFailed: '로그인하지 못했습니다',
  demoAccountsHint: '데모 계정: admin@itda.demo / itda-demo',
  dashboard: '대시보드',
  network: '네트워크',
  sites: '참여 기관',
  site: '기관',
  siteId: '기관 ID',
  status: '상태',
  connection: '연결',
  lastSeen: '마지막 연결',
  connected: '연결됨',
  offline: '연결 끊김',
  approved: '승인됨',
  pending: '승인 대기',
  suspended: '중지됨',
  never: '없음',
  secondsAgo: '{n}초 전',
  minutesAgo: '{n}분 전',
  hoursAgo: '{n}시간 전',
  hubVersion: '허브 버전',
  database: '데이터베이스',
  connectedSites: '연결된 기관',
  loading: '불러오는 중…',
  loadFailed: '불러오지 못했습니다',
  noSites: '아직 등록된 기관이 없습니다',
  siteDetails: '기관 상세',
  back: '← 대시보드',
  quality: '데이터 품질',
  profile: '데이터 프로파일',
  notPublished: '이 기관은 아직 보고서를 게시하지 않았습니다',
  checksPassed: '통과율',
  checks: '검사',
  passed: '통과',
  failed: '실패',
  notApplicable: '해당 없음',
  errors: '오류',
  context: '맥락',
  category: '범주',
  failingChecks: '실패한 검사',
  search: '검색',
  allCategories: '모든 범주',
  check: '검사',
  table: '테이블',
  field: '필드',
  violated: '위반 행',
  threshold: '기준(%)',
  noFailingChecks: '실패한 검사가 없습니다',
  generatedAt: '생성 시각',
  persons: '환자 수',
  agePyramid: '연령·성별 분포',
  male: '남',
  female: '여',
  topConditions: '주요 진단',
  topDrugs: '주요 약물',
  topMeasurements: '주요 검사',
  recordsOverTime: '월별 기록 수',
  visits: '방문',
  conditions: '진단',
  drugs: '약물',
  measurements: '검사',
  suppressedNote: '10 미만의 수는 "<10"으로 표시됩니다',
};

type Dictionary = { [K in keyof typeof ko]: string };

const en: Dictionary = {
  appName: 'Itda 잇다',
  tagline: 'Hospital data for medical AI, safely, without moving it out of the hospital',
  language: 'Language',
  signIn: 'Sign in',
  signOut: 'Sign out',
  email: 'E-mail',
  password: 'Password',
  signingIn: 'Signing in…',
  signInFailed: 'Could not sign in',
  demoAccountsHint: 'Demo account: admin@itda.demo / itda-demo',
  dashboard: 'Dashboard',
  network: 'Network',
  sites: 'Sites',
  site: 'Site',
  siteId: 'Site ID',
  status: 'Status',
  connection: 'Connection',
  lastSeen: 'Last seen',
  connected: 'Connected',
  offline: 'Offline',
  approved: 'Approved',
  pending: 'Pending approval',
  suspended: 'Suspended',
  never: 'never',
  secondsAgo: '{n} s ago',
  minutesAgo: '{n} min ago',
  hoursAgo: '{n} h ago',
  hubVersion: 'Hub version',
  database: 'Database',
  connectedSites: 'Connected sites',
  loading: 'Loading…',
  loadFailed: 'Could not load',
  noSites: 'No site has registered yet',
  siteDetails: 'Site details',
  back: '← Dashboard',
  quality: 'Data quality',
  profile: 'Data profile',
  notPublished: 'This site has not published a report yet',
  checksPassed: 'Passed',
  checks: 'checks',
  passed: 'Passed',
  failed: 'Failed',
  notApplicable: 'Not applicable',
  errors: 'Errors',
  context: 'Context',
  category: 'Category',
  failingChecks: 'Failing checks',
  search: 'Search',
  allCategories: 'All categories',
  check: 'Check',
  table: 'Table',
  field: 'Field',
  violated: 'Violated rows',
  threshold: 'Threshold %',
  noFailingChecks: 'No failing checks',
  generatedAt: 'Generated',
  persons: 'Persons',
  agePyramid: 'Age and sex',
  male: 'Male',
  female: 'Female',
  topConditions: 'Top conditions',
  topDrugs: 'Top drugs',
  topMeasurements: 'Top measurements',
  recordsOverTime: 'Records per month',
  visits: 'Visits',
  conditions: 'Conditions',
  drugs: 'Drugs',
  measurements: 'Measurements',
  suppressedNote: 'Counts below 10 are shown as "<10"',
};

export type Language = 'ko' | 'en';
export type MessageKey = keyof Dictionary;
const DICTIONARIES: Record<Language, Dictionary> = { ko, en };
const STORAGE_KEY = 'itda.language';

function initialLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === 'ko' || stored === 'en') return stored;
  return navigator.language.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

interface I18n {
  language: Language;
  setLanguage(language: Language): void;
  t(key: MessageKey, values?: Record<string, string | number>): string;
}

const I18nContext = createContext<I18n | undefined>(undefined);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(STORAGE_KEY, next);
    setLanguageState(next);
  }, []);
  const value = useMemo<I18n>(
    () => ({
      language,
      setLanguage,
      t: (key, values) =>
        DICTIONARIES[language][key].replace(/\{(\w+)\}/g, (_, name: string) => String(values?.[name] ?? '')),
    }),
    [language, setLanguage],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error('useI18n outside I18nProvider');
  return context;
}
