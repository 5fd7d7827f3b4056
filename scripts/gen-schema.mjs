// Writes schemas/manifest.v1.json from the TypeBox schemas and the node registry, schemas/models.v1.json from the
// model repository's schema, and docs/remotemedia-nodes.md from the RemoteMedia type list and the registry
// (npm run gen:schema).
// test/schema.test.mjs fails when a committed file differs from what this produces.
import { writeFileSync } from 'node:fs';
import { renderRemoteMediaDoc } from '../dist/nodes/remotemedia-doc.js';
import { renderManifestSchema } from '../dist/nodes/schema-file.js';
import { renderModelRepositorySchema } from '../dist/inference/tensor/model-repository.js';

writeFileSync(new URL('../schemas/manifest.v1.json', import.meta.url), renderManifestSchema());
console.log('wrote schemas/manifest.v1.json');
writeFileSync(new URL('../schemas/models.v1.json', import.meta.url), renderModelRepositorySchema());
console.log('wrote schemas/models.v1.json');
writeFileSync(new URL('../docs/remotemedia-nodes.md', import.meta.url), renderRemoteMediaDoc());
console.log('wrote docs/remotemedia-nodes.md');
