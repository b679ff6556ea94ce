/**
 * FHIR R4 references (http://hl7.org/fhir/R4/references.html) → the resource they name.
 * Literal relative (`Patient/123`), absolute (`https://x/fhir/Patient/123/_history/2`) and
 * `urn:uuid:` references are understood; a `urn:uuid:` the bundle reader could not resolve
 * takes the type the element requires (`Device.patient` is always a Patient).
 */
import type { Reference } from './types.ts';

export interface ResourceKey {
  resourceType: string;
  id: string;
}

const LITERAL = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** The resource a reference names, or undefined (contained `#x`, conditional, identifier-only). */
export function parseReference(reference: unknown, expectedType?: string): ResourceKey | undefined {
  if (typeof reference !== 'object' || reference === null) return undefined;
  const { reference: text, type } = reference as Reference;
  if (typeof text !== 'string' || text === '' || text.startsWith('#') || text.includes('?')) return undefined;
  const literal = LITERAL.exec(text);
  if (literal) return { resourceType: literal[1]!, id: literal[2]! };
  const urn = /^urn:(?:uuid|oid):(.+)$/.exec(text);
  const resourceType = typeof type === 'string' ? type : expectedType;
  if (urn && resourceType) return { resourceType, id: urn[1]! };
  return undefined;
}

/** Like `parseReference`, but only when the target is one of `types` (e.g. a performer that is a Practitioner). */
export function referenceTo(reference: unknown, types: readonly string[]): ResourceKey | undefined {
  const key = parseReference(reference, types.length === 1 ? types[0] : undefined);
  return key && types.includes(key.resourceType) ? key : undefined;
}
