/**
 * The whole catalog as DCAT-AP JSON-LD in the HealthDCAT-AP flavour: one dcat:Catalog
 * whose dcat:dataset entries carry bilingual dct:title/dct:description (@language ko and
 * en), dct:publisher, dcat:theme, dct:accessRights (EU access-right authority table),
 * dct:temporal, healthdcatap:numberOfRecords / numberOfUniqueIndividuals / min and max
 * typical age, coding systems, and the allowed uses as DUO term IRIs.
 */

import type { DatasetInput } from '../../protocol/catalog.ts';
import { duoCodeOfId, duoIri } from '../../protocol/duo.ts';

export const DCAT_CONTEXT = {
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  vcard: 'http://www.w3.org/2006/vcard/ns#',
  skos: 'http://www.w3.org/2004/02/skos/core#',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  dqv: 'http://www.w3.org/ns/dqv#',
  healthdcatap: 'http://healthdataportal.eu/ns/health#',
  itda: 'https://itda.example/ns#',
} as const;

const ACCESS_RIGHT_AUTHORITY = 'http://publications.europa.eu/resource/authority/access-right/';

export interface DcatEntry {
  id: string;
  version: number;
  siteName: string;
  createdAt: Date;
  updatedAt: Date;
  dataset: DatasetInput;
}

const bilingual = (text: { ko: string; en: string }) => [
  { '@value': text.ko, '@language': 'ko' },
  { '@value': text.en, '@language': 'en' },
];
const typed = (value: string | number, type: string) => ({ '@value': String(value), '@type': type });

function datasetNode(baseUrl: string, e: DcatEntry): Record<string, unknown> {
  const d = e.dataset;
  const node: Record<string, unknown> = {
    '@id': `${baseUrl}/api/catalog/${e.id}`,
    '@type': 'dcat:Dataset',
    'dct:identifier': e.id,
    'dct:title': bilingual(d.title),
    'dct:description': bilingual(d.description),
    'dct:publisher': {
      '@id': `${baseUrl}/api/sites/${encodeURIComponent(d.siteId)}`,
      '@type': 'foaf:Agent',
      'foaf:name': e.siteName,
      'dct:identifier': d.siteId,
    },
    'dcat:theme': d.themes.map((theme) => ({ '@type': 'skos:Concept', 'skos:prefLabel': theme })),
    'dcat:keyword': d.themes,
    'itda:modality': d.modalities,
    'healthdcatap:hasCodingSystem': d.codingSystems,
    'dct:accessRights': { '@id': `${ACCESS_RIGHT_AUTHORITY}${d.accessRights}` },
    'dct:rights': d.allowedUses.map((use) => ({
      '@id': duoIri(use.code),
      'rdfs:label': duoCodeOfId(use.code) ?? use.code,
      ...(use.disease ? { 'itda:disease': use.disease } : {}),
    })),
    'dcat:contactPoint': {
      '@type': 'vcard:Kind',
      'vcard:fn': d.contact.name,
      'vcard:hasEmail': { '@id': `mailto:${d.contact.email}` },
    },
    'dct:issued': typed(e.createdAt.toISOString(), 'xsd:dateTime'),
    'dct:modified': typed(e.updatedAt.toISOString(), 'xsd:dateTime'),
    'dcat:version': String(e.version),
    'dcat:landingPage': { '@id': `${baseUrl}/catalog/${e.id}` },
    // The site's own reports, linked (they change with every republication).
    'dqv:hasQualityMetadata': { '@id': `${baseUrl}/api/sites/${encodeURIComponent(d.siteId)}/quality` },
  };
  if (d.numberOfRecords !== null)
    node['healthdcatap:numberOfRecords'] = typed(d.numberOfRecords, 'xsd:nonNegativeInteger');
  if (d.numberOfIndividuals !== null)
    node['healthdcatap:numberOfUniqueIndividuals'] = typed(d.numberOfIndividuals, 'xsd:nonNegativeInteger');
  if (d.ageRange) {
    node['healthdcatap:minTypicalAge'] = typed(d.ageRange.min, 'xsd:nonNegativeInteger');
    node['healthdcatap:maxTypicalAge'] = typed(d.ageRange.max, 'xsd:nonNegativeInteger');
  }
  if (d.temporalCoverage) {
    node['dct:temporal'] = {
      '@type': 'dct:PeriodOfTime',
      'dcat:startDate': typed(d.temporalCoverage.start, 'xsd:date'),
      'dcat:endDate': typed(d.temporalCoverage.end, 'xsd:date'),
    };
  }
  return node;
}

/** The catalog document; `baseUrl` is the hub's public origin (no trailing slash). */
export function dcatCatalog(baseUrl: string, entries: readonly DcatEntry[]): Record<string, unknown> {
  return {
    '@context': DCAT_CONTEXT,
    '@id': `${baseUrl}/api/catalog/dcat`,
    '@type': 'dcat:Catalog',
    'dct:title': bilingual({ ko: 'Itda 잇다 의료 데이터 카탈로그', en: 'Itda health data catalog' }),
    'dct:description': bilingual({
      ko: '참여 병원이 기술한 데이터셋. 데이터는 병원 밖으로 나가지 않습니다.',
      en: 'Datasets described by the participating hospitals; the data stays inside each hospital.',
    }),
    'dct:modified': typed(
      new Date(Math.max(0, ...entries.map((e) => e.updatedAt.getTime()))).toISOString(),
      'xsd:dateTime',
    ),
    'dcat:dataset': entries.map((e) => datasetNode(baseUrl, e)),
  };
}
