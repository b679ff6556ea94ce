/**
 * Identity: a stable FHIR key → OMOP integer id. OMOP CDM v5.4 keys are integers while FHIR
 * ids are strings (http://hl7.org/fhir/R4/resource.html#id), so every key goes through one
 * allocator; the same key always yields the same id, which is what makes re-ingesting a file
 * add nothing.
 *
 * Keys are `(namespace, key)`. The namespace is a FHIR resourceType for resources and for
 * references to them (`Patient`, `patient-1`), or one of the derived namespaces below for rows
 * that have no resource of their own.
 */
export interface IdAllocator {
  /** The id for this key, allocating the next free one the first time it is asked for. */
  idFor(namespace: string, key: string): number;
}

/** Namespaces for rows that are derived rather than one-to-one with a resource. */
export const DERIVED_NAMESPACES = {
  /** A location built from an address: key `line|city|state|zip`, shared by everyone living there. */
  address: 'Address',
  /** The n-th row a resource produced beyond its first (components, 1→N "Maps to"): key `Type/id#n`. */
  row: 'Row',
  observationPeriod: 'ObservationPeriod',
  conditionEra: 'ConditionEra',
  drugEra: 'DrugEra',
  /** A series of an ImagingStudy: key `studyId#seriesUid`. */
  imageSeries: 'ImageSeries',
} as const;

/**
 * An allocator that lives in memory: for tests and for one-shot conversions. The site store
 * keeps its own, persistent one behind the same interface.
 */
export class InMemoryIdAllocator implements IdAllocator {
  // One map per namespace: the key strings come straight from the resources, so no
  // composite string is built (and hashed) on every call.
  readonly #ids = new Map<string, Map<string, number>>();
  #next: number;
  #size = 0;

  constructor(firstId = 1) {
    this.#next = firstId;
  }

  idFor(namespace: string, key: string): number {
    let keys = this.#ids.get(namespace);
    if (keys === undefined) {
      keys = new Map();
      this.#ids.set(namespace, keys);
    }
    let id = keys.get(key);
    if (id === undefined) {
      id = this.#next++;
      keys.set(key, id);
      this.#size++;
    }
    return id;
  }

  /** The id already given to a key, without allocating one. */
  peek(namespace: string, key: string): number | undefined {
    return this.#ids.get(namespace)?.get(key);
  }

  get size(): number {
    return this.#size;
  }
}
