/** `pitlane nodes`: the built-in node types. */
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';

export function nodesCommand(opts: { json?: boolean }): number {
  const types = BUILTIN_NODE_TYPES.types;
  if (opts.json === true) {
    const out = types.map((t) => ({
      name: t.name,
      aliases: t.aliases,
      role: t.role,
      description: t.description,
      params: t.params,
    }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return EXIT.OK;
  }
  for (const t of types) {
    const params = Object.keys((t.params as { properties?: object }).properties ?? {});
    process.stdout.write(
      `${t.name.padEnd(14)} ${t.role.padEnd(9)} ${t.description}\n${''.padEnd(25)}aliases: ${t.aliases.join(', ') || '-'}; params: ${params.join(', ') || '-'}\n`,
    );
  }
  return EXIT.OK;
}
