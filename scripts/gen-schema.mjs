// Writes schemas/manifest.v1.json from the TypeBox schemas and the node registry (npm run gen:schema).
// test/schema.test.mjs fails when the committed file differs from what this produces.
import { writeFileSync } from 'node:fs';
import { renderManifestSchema } from '../dist/nodes/schema-file.js';

writeFileSync(new URL('../schemas/manifest.v1.json', import.meta.url), renderManifestSchema());
console.log('wrote schemas/manifest.v1.json');
