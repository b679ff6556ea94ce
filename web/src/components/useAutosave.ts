/**
 * Autosave for an application draft: edits are kept locally at once (so a reload loses
 * nothing), and sent to the hub as a debounced PATCH of the fields that changed. The hub
 * decides what is valid: a field it refuses (a half-typed IRB record) is left out of the
 * save and kept waiting until it is complete; the page says which fields wait.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApplicationDraft } from '../../../src/protocol/access.ts';
import { type ApplicationView, accessApi, refusedFields } from '../access-api.ts';

export type DraftField = keyof ApplicationDraft;

const DEBOUNCE_MS = 700;
const storageKey = (id: string) => `itda.application-draft.${id}`;

/** Edits not yet saved, kept in localStorage between page loads. */
export function unsavedEdits(id: string): ApplicationDraft {
  try {
    const raw = localStorage.getItem(storageKey(id));
    return raw ? (JSON.parse(raw) as ApplicationDraft) : {};
  } catch {
    return {};
  }
}

function keepUnsaved(id: string, pending: ApplicationDraft): void {
  if (Object.keys(pending).length === 0) localStorage.removeItem(storageKey(id));
  else localStorage.setItem(storageKey(id), JSON.stringify(pending));
}

export interface Autosave {
  /** Records an edit of one field and schedules a save. */
  edit<F extends DraftField>(field: F, value: ApplicationDraft[F]): void;
  /** Saves what is pending now (before submitting). */
  flush(): Promise<void>;
  savedAt: Date | null;
  saving: boolean;
  waiting: DraftField[];
  error: string | null;
}

export function useAutosave(id: string, onSaved: (view: ApplicationView) => void): Autosave {
  const pending = useRef<ApplicationDraft>(unsavedEdits(id));
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const chain = useRef<Promise<void>>(Promise.resolve());
  const [savedAt, setSavedAt] = useState<Date | null>(null);
  const [saving, setSaving] = useState(false);
  const [waiting, setWaiting] = useState<DraftField[]>([]);
  const [error, setError] = useState<string | null>(null);
  const saved = useRef(onSaved);
  saved.current = onSaved;

  const flush = useCallback((): Promise<void> => {
    clearTimeout(timer.current);
    // Saves run one after another, so an older PATCH never lands after a newer one.
    chain.current = chain.current.then(async () => {
      let ready: ApplicationDraft = { ...pending.current };
      const notYet = new Set<DraftField>();
      setSaving(true);
      try {
        // Each refusal names the fields the hub will not take yet; the rest is saved.
        while (Object.keys(ready).length > 0) {
          let view: ApplicationView;
          try {
            view = await accessApi.save(id, ready);
          } catch (e) {
            const refused = refusedFields(e).filter((f) => f in ready);
            if (refused.length === 0) throw e;
            for (const field of refused) notYet.add(field);
            ready = Object.fromEntries(
              Object.entries(ready).filter(([f]) => !notYet.has(f as DraftField)),
            ) as ApplicationDraft;
            continue;
          }
          for (const [field, value] of Object.entries(ready) as [DraftField, unknown][])
            if (pending.current[field] === value) delete pending.current[field];
          keepUnsaved(id, pending.current);
          setSavedAt(new Date());
          saved.current(view);
          break;
        }
        setError(null);
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      } finally {
        setWaiting([...notYet]);
        setSaving(false);
      }
    });
    return chain.current;
  }, [id]);

  const edit = useCallback(
    <F extends DraftField>(field: F, value: ApplicationDraft[F]) => {
      pending.current = { ...pending.current, [field]: value };
      keepUnsaved(id, pending.current);
      clearTimeout(timer.current);
      timer.current = setTimeout(() => void flush(), DEBOUNCE_MS);
    },
    [id, flush],
  );

  useEffect(() => {
    // Edits left from an earlier visit are sent at once.
    if (Object.keys(pending.current).length > 0) void flush();
    // Leaving the page: what is pending goes out once more (the copy in localStorage stays for the next visit).
    const leave = () => {
      if (Object.keys(pending.current).length > 0) accessApi.saveOnLeave(id, pending.current);
    };
    window.addEventListener('pagehide', leave);
    return () => {
      window.removeEventListener('pagehide', leave);
      clearTimeout(timer.current);
      leave();
    };
  }, [id, flush]);

  return { edit, flush, savedAt, saving, waiting, error };
}
