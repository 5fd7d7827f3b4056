/**
 * The text of schemas/manifest.v1.json, generated from the manifest schemas (pipeline/) and the built-in node
 * types (this folder's registry): it lives here, above pipeline/, because only here are both known.
 */
import { manifestJsonSchema } from '../pipeline/manifest-schema.js';
import { BUILTIN_NODE_TYPES } from './registry.js';

export function renderManifestSchema(): string {
  return JSON.stringify(manifestJsonSchema(BUILTIN_NODE_TYPES), null, 2) + '\n';
}
