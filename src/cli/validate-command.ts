/** `pitlane validate`: lists every problem of a manifest. */
import { ManifestInvalidError } from '../core/errors.js';
import { loadManifestFile } from '../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';

export async function validateCommand(file: string, opts: { json?: boolean }): Promise<number> {
  try {
    const m = await loadManifestFile(file, BUILTIN_NODE_TYPES);
    if (opts.json === true) {
      process.stdout.write(JSON.stringify({ file, valid: true, problems: [] }) + '\n');
    } else {
      process.stdout.write(`ok: ${file} (${m.nodes.length} nodes, ${m.connections.length} connections)\n`);
    }
    return EXIT.OK;
  } catch (e) {
    if (opts.json === true && e instanceof ManifestInvalidError) {
      process.stdout.write(JSON.stringify({ file, valid: false, problems: e.problems }) + '\n');
      return EXIT.INVALID_INPUT;
    }
    throw e;
  }
}
