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
