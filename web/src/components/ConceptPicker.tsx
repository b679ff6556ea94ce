/**
 * Picks OMOP concepts: searches the hub's vocabulary (`/api/concepts`) by name, code or
 * synonym, or takes a concept id typed in directly (when the hub has no vocabulary yet).
 */
import { Button, CloseButton, Group, Pill, Stack, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type ConceptHit } from '../api.ts';
import { useI18n } from '../i18n.tsx';

export interface PickedConcept {
  conceptId: number;
  name?: string | undefined;
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function ConceptPicker({
  value,
  onChange,
  domain,
  label,
  testId,
}: {
  value: PickedConcept[];
  onChange(next: PickedConcept[]): void;
  /** OMOP domain to search in (Condition, Drug, Measurement, …). */
  domain: string;
  label: string;
  testId?: string;
}) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const q = useDebounced(text.trim(), 250);
  const isId = /^\d+$/.test(text.trim());
  const search = useQuery({
    queryKey: ['concepts', domain, q],
    queryFn: () => api.searchConcepts(q, domain),
    enabled: q.length >= 2 && !/^\d+$/.test(q),
    staleTime: 60_000,
  });
  const add = (concept: PickedConcept) => {
    if (!value.some((c) => c.conceptId === concept.conceptId)) onChange([...value, concept]);
    setText('');
  };
  const addTyped = () => {
    const id = Number(text.trim());
    if (Number.isInteger(id) && id > 0) add({ conceptId: id });
  };
  const hits: ConceptHit[] = search.data ?? [];
  return (
    <Stack gap={4} data-testid={testId}>
      <Group gap="xs" align="flex-end">
        <TextInput
          label={label}
          placeholder={t('feasConceptPlaceholder')}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              if (isId) addTyped();
              else if (hits[0]) add({ conceptId: hits[0].conceptId, name: hits[0].name });
            }
          }}
          style={{ flex: 1 }}
        />
        <Button variant="light" onClick={addTyped} disabled={!isId}>
          {t('feasAddConceptId')}
        </Button>
      </Group>
      {search.data === null && q.length >= 2 && !isId ? (
        <Text size="xs" c="dimmed">
          {t('feasNoVocabulary')}
        </Text>
      ) : null}
      {hits.length > 0 && !isId ? (
        <Stack gap={2} data-testid="concept-hits">
          {hits.slice(0, 8).map((hit) => (
            <Button
              key={hit.conceptId}
              variant="subtle"
              size="compact-sm"
              justify="flex-start"
              onClick={() => add({ conceptId: hit.conceptId, name: hit.name })}
            >
              {hit.name} · {hit.vocabularyId} {hit.code} ({hit.conceptId})
            </Button>
          ))}
        </Stack>
      ) : null}
      <Group gap={4}>
        {value.map((concept) => (
          <Pill key={concept.conceptId} data-testid="picked-concept">
            <Group gap={2} wrap="nowrap">
              <span>
                {concept.name ? `${concept.name} (${concept.conceptId})` : String(concept.conceptId)}
              </span>
              <CloseButton
                size="xs"
                aria-label={t('feasRemove')}
                onClick={() => onChange(value.filter((c) => c.conceptId !== concept.conceptId))}
              />
            </Group>
          </Pill>
        ))}
      </Group>
    </Stack>
  );
}
