/** The text of schemas/manifest.v1.json, generated from the schemas and the built-in registry. */
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { manifestJsonSchema } from './manifest-schema.js';

export function renderManifestSchema(): string {
  return JSON.stringify(manifestJsonSchema(BUILTIN_NODE_TYPES), null, 2) + '\n';
}
