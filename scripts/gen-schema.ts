// Writes resources/policy.schema.json from the zod schema the code validates with.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyJsonSchema } from '../src/core/policy-schema-json.js';

writeFileSync(join(__dirname, '..', 'resources', 'policy.schema.json'), `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
