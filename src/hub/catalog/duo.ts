/**
 * GA4GH Data Use Ontology (DUO) terms a dataset's allowed uses are written in: the data
 * use permissions (DUO:0000001's subclasses) and data use modifiers (DUO:0000017's).
 * Ids and shorthands follow the DUO release (EBISPOT/DUO, OBO Foundry).
 */
export interface DuoTerm {
  id: string;
  shorthand: string;
  label: string;
  kind: 'permission' | 'modifier';
  /** DS needs the disease it is restricted to (e.g. a MONDO, ICD or OMOP concept id). */
  needsDisease?: true;
}

export const DUO_TERMS: readonly DuoTerm[] = [
  { id: 'DUO:0000004', shorthand: 'NRES', label: 'no restriction', kind: 'permission' },
  { id: 'DUO:0000042', shorthand: 'GRU', label: 'general research use', kind: 'permission' },
  {
    id: 'DUO:0000006',
    shorthand: 'HMB',
    label: 'health or medical or biomedical research',
    kind: 'permission',
  },
  {
    id: 'DUO:0000007',
    shorthand: 'DS',
    label: 'disease specific research',
    kind: 'permission',
    needsDisease: true,
  },
  {
    id: 'DUO:0000011',
    shorthand: 'POA',
    label: 'population origins or ancestry research only',
    kind: 'permission',
  },
  { id: 'DUO:0000012', shorthand: 'RS', label: 'research specific restrictions', kind: 'modifier' },
  { id: 'DUO:0000015', shorthand: 'NMDS', label: 'no general methods research', kind: 'modifier' },
  { id: 'DUO:0000016', shorthand: 'GSO', label: 'genetic studies only', kind: 'modifier' },
  {
    id: 'DUO:0000018',
    shorthand: 'NPUNCU',
    label: 'not for profit, non commercial use only',
    kind: 'modifier',
  },
  { id: 'DUO:0000019', shorthand: 'PUB', label: 'publication required', kind: 'modifier' },
  { id: 'DUO:0000020', shorthand: 'COL', label: 'collaboration required', kind: 'modifier' },
  { id: 'DUO:0000021', shorthand: 'IRB', label: 'ethics approval required', kind: 'modifier' },
  { id: 'DUO:0000022', shorthand: 'GS', label: 'geographical restriction', kind: 'modifier' },
  { id: 'DUO:0000024', shorthand: 'MOR', label: 'publication moratorium', kind: 'modifier' },
  { id: 'DUO:0000025', shorthand: 'TS', label: 'time limit on use', kind: 'modifier' },
  { id: 'DUO:0000026', shorthand: 'US', label: 'user specific restriction', kind: 'modifier' },
  { id: 'DUO:0000027', shorthand: 'PS', label: 'project specific restriction', kind: 'modifier' },
  { id: 'DUO:0000028', shorthand: 'IS', label: 'institution specific restriction', kind: 'modifier' },
  { id: 'DUO:0000029', shorthand: 'RTN', label: 'return to database or resource', kind: 'modifier' },
  { id: 'DUO:0000043', shorthand: 'CC', label: 'clinical care use', kind: 'modifier' },
  {
    id: 'DUO:0000044',
    shorthand: 'NPOA',
    label: 'population origins or ancestry research prohibited',
    kind: 'modifier',
  },
  { id: 'DUO:0000045', shorthand: 'NPU', label: 'not for profit organisation use only', kind: 'modifier' },
  { id: 'DUO:0000046', shorthand: 'NCU', label: 'non-commercial use only', kind: 'modifier' },
];

const BY_ID = new Map(DUO_TERMS.map((t) => [t.id, t]));
const BY_SHORTHAND = new Map(DUO_TERMS.map((t) => [t.shorthand, t]));

/** The term for a DUO id ("DUO:0000042") or shorthand ("GRU"), or undefined. */
export function duoTerm(idOrShorthand: string): DuoTerm | undefined {
  return BY_ID.get(idOrShorthand) ?? BY_SHORTHAND.get(idOrShorthand.toUpperCase());
}

/** The OBO PURL of a DUO term, as DCAT exports write it. */
export function duoIri(id: string): string {
  return `http://purl.obolibrary.org/obo/${id.replace(':', '_')}`;
}
