import { z } from 'zod';
import { policySchema } from './policy.js';

/** The JSON schema of .paddock/policy.yaml, for YAML editors (completion, validation, hovers). */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://paddock.dev/schemas/policy.schema.json',
    title: 'Paddock policy',
  };
}
