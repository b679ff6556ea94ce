/**
 * Who and where: Patient → person (+ location from the address, + death); Practitioner /
 * PractitionerRole → provider; Organization / Location → care_site and location. Column
 * rules follow the FHIR-to-OMOP IG (US Core race/ethnicity/birth sex extensions) and the
 * golden cases.
 */
import { DERIVED_NAMESPACES } from '../ids.ts';
import type { FhirResource, OmopValue } from '../types.ts';
import { resolveCodeableConcept } from '../vocabulary.ts';
import { TYPE_CONCEPT } from './clinical.ts';
import {
  arr,
  codeable,
  cut,
  firstCode,
  type MappingContext,
  num,
  obj,
  optionalDate,
  optionalId,
  quarantine,
  type RowCollector,
  requireDate,
  requireId,
  str,
} from './shared.ts';

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';
const EXTENSION = {
  birthSex: `${US_CORE}/us-core-birthsex`,
  race: `${US_CORE}/us-core-race`,
  ethnicity: `${US_CORE}/us-core-ethnicity`,
  /** Athena Race concept_id carried verbatim (fhir2omop profile). */
  omopRace: 'https://fhir2omop.health-samurai.io/StructureDefinition/omop-race',
  birthTime: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
  geolocation: 'http://hl7.org/fhir/StructureDefinition/geolocation',
} as const;

/**
 * Gender: US Core birth sex (HL7 v3 AdministrativeGender, whose M/F are Athena Gender
 * concept codes, hence a source concept) wins over Patient.gender (FHIR
 * administrative-gender, no source concept).
 */
const BIRTH_SEX: Readonly<Record<string, { concept: number; source: number }>> = {
  M: { concept: 8507, source: 8507 },
  F: { concept: 8532, source: 8532 },
  OTH: { concept: 8521, source: 0 },
  UNK: { concept: 8551, source: 0 },
};
const ADMINISTRATIVE_GENDER: Readonly<Record<string, number>> = {
  male: 8507,
  female: 8532,
  other: 8521,
  unknown: 8551,
};

/** OMB race categories (urn:oid:2.16.840.1.113883.6.238) → OMOP Race. */
const OMB_RACE: Readonly<Record<string, number>> = {
  '2106-3': 8527,
  '2054-5': 8516,
  '2028-9': 8515,
  '1002-5': 8657,
  '2076-8': 8557,
  UNK: 8552,
};
/** Synthea writes "Other" as race text with ombCategory UNK. */
const RACE_TEXT: Readonly<Record<string, number>> = { Other: 8522 };
const OMB_ETHNICITY: Readonly<Record<string, number>> = { '2135-2': 38003563, '2186-5': 38003564 };

/** ISO 3166 country codes → OMOP Geography concepts (extend as sites need them). */
const COUNTRY_CONCEPT: Readonly<Record<string, number>> = { US: 4330442, USA: 4330442 };

const extensions = (element: unknown) => arr(obj(element)?.extension).map(obj);
const extension = (element: unknown, url: string) => extensions(element).find((e) => e?.url === url);

/** The US Core race/ethnicity extension's first ombCategory code and its text. */
function omb(resource: FhirResource, url: string): { code?: string; text?: string } | undefined {
  const ext = extension(resource, url);
  if (!ext) return undefined;
  const parts = extensions(ext);
  const category = obj(parts.find((p) => p?.url === 'ombCategory')?.valueCoding);
  const text = str(parts.find((p) => p?.url === 'text')?.valueString);
  return { ...(str(category?.code) ? { code: category!.code as string } : {}), ...(text ? { text } : {}) };
}

/** FHIR R4 Patient → person, its address → location, deceasedDateTime → death. */
export function mapPatient(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  const id = requireId(resource);
  const birth = requireDate(resource.birthDate, 'Patient.birthDate');
  // patient-birthTime sits on the birthDate primitive (`_birthDate.extension`).
  const birthTime = optionalDate(
    extension(resource._birthDate, EXTENSION.birthTime)?.valueDateTime,
    'Patient.birthDate patient-birthTime',
  );
  const personId = context.ids.idFor('Patient', id);

  const birthSex = str(extension(resource, EXTENSION.birthSex)?.valueCode);
  const gender = str(resource.gender);
  const genderSource = birthSex ?? gender ?? null;
  const genderConcept = birthSex !== undefined ? BIRTH_SEX[birthSex] : undefined;
  const genderConceptId = genderConcept?.concept ?? (gender ? (ADMINISTRATIVE_GENDER[gender] ?? 0) : 0);

  const omopRace = obj(extension(resource, EXTENSION.omopRace)?.valueCoding);
  const race = omb(resource, EXTENSION.race);
  const raceConceptId =
    (str(omopRace?.code) && Number.isInteger(Number(omopRace!.code)) ? Number(omopRace!.code) : undefined) ??
    (race?.code === 'UNK' && race.text ? RACE_TEXT[race.text] : undefined) ??
    (race?.code ? OMB_RACE[race.code] : undefined) ??
    0;
  const ethnicity = omb(resource, EXTENSION.ethnicity);

  const address = patientAddress(resource);
  const locationId = address ? addressLocation(address, context, out) : null;

  out.add('person', {
    person_id: personId,
    gender_concept_id: genderConceptId,
    year_of_birth: birth.year,
    month_of_birth: birth.month,
    day_of_birth: birth.day,
    birth_datetime:
      birthTime?.datetime ??
      (birth.precision === 'year' || birth.precision === 'month' ? null : birth.datetime),
    race_concept_id: raceConceptId,
    ethnicity_concept_id: (ethnicity?.code ? OMB_ETHNICITY[ethnicity.code] : undefined) ?? 0,
    location_id: locationId,
    provider_id: optionalId(context, arr(resource.generalPractitioner)[0], ['Practitioner']),
    care_site_id: optionalId(context, resource.managingOrganization, ['Organization']),
    // The FHIR id, never an identifier that could name the patient.
    person_source_value: cut(id, 50),
    gender_source_value: cut(genderSource, 50),
    gender_source_concept_id: genderConcept?.source ?? 0,
    race_source_value: cut(str(omopRace?.display) ?? race?.text ?? null, 50),
    race_source_concept_id: 0,
    ethnicity_source_value: cut(ethnicity?.text ?? null, 50),
    ethnicity_source_concept_id: 0,
  });

  // OMOP death needs a date: deceasedBoolean alone says nothing to put in death_date.
  const death = optionalDate(resource.deceasedDateTime, 'Patient.deceasedDateTime');
  if (death) {
    out.add('death', {
      person_id: personId,
      death_date: death.date,
      death_datetime: death.datetime,
      death_type_concept_id: TYPE_CONCEPT.ehr,
      cause_concept_id: null,
      cause_source_value: null,
      cause_source_concept_id: null,
    });
  }
}

/** The official address, else the first (FHIR R4 Patient.address). */
function patientAddress(resource: FhirResource): Record<string, unknown> | undefined {
  const addresses = arr(resource.address)
    .map(obj)
    .filter((a) => a !== undefined);
  return addresses.find((a) => a.use === 'official') ?? addresses[0];
}

interface AddressParts {
  line: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  district: string | null;
  country: string | null;
}

function addressParts(address: Record<string, unknown>): AddressParts {
  const lines = arr(address.line).filter((l): l is string => typeof l === 'string' && l !== '');
  return {
    line: lines.length > 0 ? lines.join(' ') : null,
    city: str(address.city) ?? null,
    state: str(address.state) ?? null,
    zip: str(address.postalCode) ?? null,
    district: str(address.district) ?? null,
    country: str(address.country) ?? null,
  };
}

/**
 * A location row for an address. Its id is keyed by the address itself (OMOP CDM v5.4
 * LOCATION: one row per distinct location), so everyone at one address shares it.
 */
function addressLocation(
  address: Record<string, unknown>,
  context: MappingContext,
  out: RowCollector,
): number | null {
  const parts = addressParts(address);
  if (parts.line === null && parts.city === null && parts.state === null && parts.zip === null) return null;
  const key = [parts.line, parts.city, parts.state, parts.zip].map((p) => p ?? '').join('|');
  const locationId = context.ids.idFor(DERIVED_NAMESPACES.address, key);
  out.add('location', locationRow(locationId, parts, geolocation(address)));
  return locationId;
}

function geolocation(address: Record<string, unknown>): {
  latitude: number | null;
  longitude: number | null;
} {
  const parts = extensions(extension(address, EXTENSION.geolocation));
  return {
    latitude: num(parts.find((p) => p?.url === 'latitude')?.valueDecimal) ?? null,
    longitude: num(parts.find((p) => p?.url === 'longitude')?.valueDecimal) ?? null,
  };
}

/**
 * OMOP CDM v5.4 LOCATION. `state` is varchar(2): a longer region name (서울특별시,
 * Ile-de-France) stays only in location_source_value, which joins the address parts.
 */
function locationRow(
  locationId: number,
  parts: AddressParts,
  position: { latitude: number | null; longitude: number | null },
): Record<string, OmopValue> {
  const composite = [parts.line, parts.city, parts.state, parts.zip].filter((p) => p !== null).join(', ');
  return {
    location_id: locationId,
    address_1: cut(parts.line, 50),
    address_2: null,
    city: cut(parts.city, 50),
    state: parts.state !== null && parts.state.length <= 2 ? parts.state : null,
    zip: cut(parts.zip, 9),
    county: cut(parts.district, 20),
    location_source_value: composite === '' ? null : cut(composite, 50),
    country_concept_id: parts.country ? (COUNTRY_CONCEPT[parts.country.toUpperCase()] ?? 0) : 0,
    country_source_value: cut(parts.country, 80),
    latitude: position.latitude,
    longitude: position.longitude,
  };
}

/** HL7 organization-type → place of service (as the IG's Organization→care_site rule). */
const ORGANIZATION_PLACE_OF_SERVICE: Readonly<Record<string, number>> = {
  prov: 8940,
  dept: 4318944,
  edu: 4030303,
  govt: 4195901,
  team: 4217012,
};

/** FHIR R4 Organization → care_site (+ location from its address). */
export function mapOrganization(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  const id = requireId(resource);
  const typeCode = firstCode(arr(resource.type)[0]);
  const address = obj(arr(resource.address)[0]);
  const locationId = address ? addressLocation(address, context, out) : null;
  out.add('care_site', {
    care_site_id: context.ids.idFor('Organization', id),
    care_site_name: cut(str(resource.name), 255),
    place_of_service_concept_id: typeCode ? (ORGANIZATION_PLACE_OF_SERVICE[typeCode] ?? 0) : 0,
    location_id: locationId,
    care_site_source_value: cut(id, 50),
    place_of_service_source_value: cut(typeCode, 50),
  });
}

/**
 * FHIR R4 Location → location (its address and position) and care_site (a place care is
 * given), both keyed by the Location id so care_site.location_id points at it.
 */
export function mapLocation(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  const id = requireId(resource);
  const locationId = context.ids.idFor('Location', id);
  const address = obj(resource.address);
  const position = obj(resource.position);
  out.add(
    'location',
    locationRow(
      locationId,
      address
        ? addressParts(address)
        : { line: null, city: null, state: null, zip: null, district: null, country: null },
      { latitude: num(position?.latitude) ?? null, longitude: num(position?.longitude) ?? null },
    ),
  );
  out.add('care_site', {
    care_site_id: locationId,
    care_site_name: cut(str(resource.name), 255),
    place_of_service_concept_id: 0,
    location_id: locationId,
    care_site_source_value: cut(id, 50),
    place_of_service_source_value: cut(firstCode(arr(resource.type)[0], 'http://snomed.info/sct'), 50),
  });
}

/** Practitioner.gender → OMOP Gender (administrative-gender codes). */
const PROVIDER_GENDER: Readonly<Record<string, { concept: number; source: number }>> = {
  male: { concept: 8507, source: 8507 },
  female: { concept: 8532, source: 8532 },
  other: { concept: 8521, source: 0 },
  unknown: { concept: 8551, source: 0 },
};

/**
 * FHIR R4 Practitioner → provider. The specialty is left at 0 here: a Practitioner carries
 * none, and PractitionerRole adds it (see `mapPractitionerRole`).
 */
export function mapPractitioner(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  const id = requireId(resource);
  const name = obj(arr(resource.name)[0]);
  const given = arr(name?.given).filter((g): g is string => typeof g === 'string');
  const family = str(name?.family);
  const displayName = str(name?.text) ?? (name ? `${family ?? ''}, ${given.join(' ')}` : undefined);
  const npi = arr(resource.identifier)
    .map(obj)
    .find((i) => i?.system === 'http://hl7.org/fhir/sid/us-npi');
  const gender = str(resource.gender);
  const birth = optionalDate(resource.birthDate, 'Practitioner.birthDate');
  out.add('provider', {
    provider_id: context.ids.idFor('Practitioner', id),
    provider_name: cut(displayName, 255),
    npi: cut(str(npi?.value), 20),
    dea: null,
    specialty_concept_id: 0,
    care_site_id: null,
    year_of_birth: birth?.year ?? null,
    gender_concept_id: gender ? (PROVIDER_GENDER[gender]?.concept ?? 0) : 0,
    provider_source_value: cut(id, 50),
    specialty_source_value: null,
    specialty_source_concept_id: 0,
    gender_source_value: cut(gender, 50),
    gender_source_concept_id: gender ? (PROVIDER_GENDER[gender]?.source ?? 0) : 0,
  });
}

/**
 * FHIR R4 PractitionerRole → a merge into its Practitioner's provider row: specialty
 * (SNOMED, NUCC or Medicare Specialty via "Maps to") and the organization as care_site.
 */
export function mapPractitionerRole(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
): void {
  requireId(resource);
  const providerId = optionalId(context, resource.practitioner, ['Practitioner']);
  if (providerId === null) throw quarantine('missing_subject', 'PractitionerRole.practitioner is missing');
  const row: Record<string, OmopValue> = { provider_id: providerId };
  const specialty = resolveCodeableConcept(codeable(arr(resource.specialty)[0]), context.concepts, [
    'SNOMED',
    'NUCC',
    'Medicare Specialty',
  ]);
  if (specialty) {
    row.specialty_concept_id = specialty.targets[0]?.concept_id ?? 0;
    row.specialty_source_value = cut(specialty.sourceValue, 50);
    row.specialty_source_concept_id = specialty.sourceConceptId;
    if (!specialty.targets[0]) out.reportUnmapped('provider', 'specialty_concept_id', specialty);
  }
  const careSiteId = optionalId(context, resource.organization, ['Organization']);
  if (careSiteId !== null) row.care_site_id = careSiteId;
  out.merge('provider', row);
}
