import { describe, expect, it } from 'vitest';
import { checkDuoCompatibility, duoCode, type IntendedUse, intendedUseSchema } from './duo.ts';

const DIABETES = 201826;
const TYPE1_DIABETES = 201254;
const ASTHMA = 317009;

const use = (overrides: Partial<IntendedUse> = {}): IntendedUse =>
  intendedUseSchema.parse({ purpose: 'HMB', ...overrides });

// Type 1 diabetes lies below diabetes mellitus; nothing else is related.
const isDescendantOf = (d: number, a: number) => d === a || (d === TYPE1_DIABETES && a === DIABETES);

describe('DUO compatibility', () => {
  it('reads term ids and abbreviations alike', () => {
    expect(duoCode('DUO:0000042')).toBe('GRU');
    expect(duoCode('hmb')).toBe('HMB');
    expect(duoCode('DUO:9999999')).toBeUndefined();
  });

  it('GRU and NRES datasets cover every purpose', () => {
    for (const terms of [['DUO:0000042'], ['NRES']])
      for (const purpose of ['GRU', 'HMB', 'DS', 'POA'] as const)
        expect(checkDuoCompatibility({ terms }, use({ purpose })).status).toBe('compatible');
  });

  it('HMB covers HMB and DS but not general research', () => {
    expect(checkDuoCompatibility({ terms: ['HMB'] }, use({ purpose: 'HMB' })).status).toBe('compatible');
    expect(
      checkDuoCompatibility({ terms: ['HMB'] }, use({ purpose: 'DS', diseaseConceptIds: [ASTHMA] })).status,
    ).toBe('compatible');
    expect(checkDuoCompatibility({ terms: ['HMB'] }, use({ purpose: 'GRU' })).status).toBe('conflict');
  });

  it('a DS dataset conflicts with a GRU or HMB application', () => {
    const dataset = { terms: ['DUO:0000007'], diseaseConceptIds: [DIABETES] };
    expect(checkDuoCompatibility(dataset, use({ purpose: 'GRU' })).status).toBe('conflict');
    expect(checkDuoCompatibility(dataset, use({ purpose: 'HMB' })).status).toBe('conflict');
  });

  it('a DS dataset covers its disease and, with a hierarchy, the disease’s descendants', () => {
    const dataset = { terms: ['DS'], diseaseConceptIds: [DIABETES] };
    expect(checkDuoCompatibility(dataset, use({ purpose: 'DS', diseaseConceptIds: [DIABETES] })).status).toBe(
      'compatible',
    );
    const subtype = use({ purpose: 'DS', diseaseConceptIds: [TYPE1_DIABETES] });
    expect(checkDuoCompatibility(dataset, subtype, { isDescendantOf }).status).toBe('compatible');
    // Without a hierarchy a different concept is the reviewers' call, not a conflict.
    expect(checkDuoCompatibility(dataset, subtype).status).toBe('needs_review');
    const other = use({ purpose: 'DS', diseaseConceptIds: [ASTHMA] });
    expect(checkDuoCompatibility(dataset, other, { isDescendantOf }).status).toBe('conflict');
  });

  it('NPU and NCU conflict with commercial use; NPU also with a for-profit applicant', () => {
    const commercial = use({ commercial: true });
    const company = use({ forProfitOrganisation: true });
    expect(checkDuoCompatibility({ terms: ['GRU', 'NPU'] }, commercial).status).toBe('conflict');
    expect(checkDuoCompatibility({ terms: ['GRU', 'NPU'] }, company).status).toBe('conflict');
    expect(checkDuoCompatibility({ terms: ['GRU', 'NCU'] }, commercial).status).toBe('conflict');
    expect(checkDuoCompatibility({ terms: ['GRU', 'NCU'] }, company).status).toBe('compatible');
    expect(checkDuoCompatibility({ terms: ['GRU', 'NPUNCU'] }, company).status).toBe('conflict');
    expect(checkDuoCompatibility({ terms: ['GRU', 'NPU'] }, use()).status).toBe('compatible');
  });

  it('NMDS refuses methods research and GSO refuses non-genetic studies', () => {
    expect(checkDuoCompatibility({ terms: ['HMB', 'NMDS'] }, use({ methodsResearch: true })).status).toBe(
      'conflict',
    );
    expect(checkDuoCompatibility({ terms: ['HMB', 'GSO'] }, use()).status).toBe('conflict');
    expect(checkDuoCompatibility({ terms: ['HMB', 'GSO'] }, use({ geneticStudy: true })).status).toBe(
      'compatible',
    );
  });

  it('NPOA refuses ancestry research only', () => {
    expect(checkDuoCompatibility({ terms: ['GRU', 'NPOA'] }, use({ purpose: 'POA' })).status).toBe(
      'conflict',
    );
    expect(checkDuoCompatibility({ terms: ['GRU', 'NPOA', 'CC'] }, use()).status).toBe('compatible');
  });

  it('IRB needs a recorded approval; PUB and other conditions go to the reviewers', () => {
    expect(checkDuoCompatibility({ terms: ['HMB', 'IRB'] }, use()).status).toBe('needs_review');
    expect(checkDuoCompatibility({ terms: ['HMB', 'IRB'] }, use(), { hasIrbApproval: true }).status).toBe(
      'compatible',
    );
    const verdict = checkDuoCompatibility({ terms: ['HMB', 'PUB'] }, use());
    expect(verdict.status).toBe('needs_review');
    expect(verdict.findings.find((f) => f.term === 'PUB')?.message).toMatch(/publication required/);
  });

  it('a dataset without a permission term, or with an unknown term, needs review', () => {
    expect(checkDuoCompatibility({ terms: [] }, use()).status).toBe('needs_review');
    expect(checkDuoCompatibility({ terms: ['GRU', 'DUO:1234567'] }, use()).status).toBe('needs_review');
  });

  it('several permission terms are alternatives: the best one decides, a modifier conflict still wins', () => {
    expect(
      checkDuoCompatibility({ terms: ['DS', 'HMB'], diseaseConceptIds: [DIABETES] }, use({ purpose: 'HMB' }))
        .status,
    ).toBe('compatible');
    expect(checkDuoCompatibility({ terms: ['HMB', 'GRU', 'NCU'] }, use({ commercial: true })).status).toBe(
      'conflict',
    );
  });
});
