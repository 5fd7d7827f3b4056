/**
 * Command-line flags the way Go's `flag` package reads them, for tools that must stay flag-compatible with Go
 * originals (`pitlane ingest-bench`): `-name value`, `-name=value`, `--name` works too; booleans are `-name`
 * (true) or `-name=false`, never `-name false`; parsing stops at the first non-flag argument or `--`. Unknown
 * flags and bad values are UsageErrors naming the flag.
 */
import { UsageError } from '../core/errors.js';

export type GoFlagType = 'string' | 'int' | 'bool' | 'duration';

export interface GoFlagSpec {
  readonly type: GoFlagType;
  readonly help: string;
  /** Shown in the help; undefined: no default. */
  readonly default?: string | number | boolean;
}

export type GoFlagValues = Record<string, string | number | boolean>;

/** Go's duration syntax, to milliseconds: `300ms`, `10s`, `1.5m`, `1h`, `1m30s`; 0 is allowed. */
export function parseGoDuration(text: string): number | null {
  if (text === '0') return 0;
  const re = /([0-9]*\.?[0-9]+)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    consumed = re.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : null;
}

function convert(name: string, spec: GoFlagSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'int': {
      const n = Number(raw);
      if (!/^-?[0-9]+$/.test(raw) || !Number.isSafeInteger(n)) {
        throw new UsageError(`invalid value "${raw}" for flag -${name}: not a whole number`);
      }
      return n;
    }
    case 'bool': {
      const v = {
        true: true,
        '1': true,
        t: true,
        TRUE: true,
        false: false,
        '0': false,
        f: false,
        FALSE: false,
      }[raw];
      if (v === undefined) throw new UsageError(`invalid boolean value "${raw}" for flag -${name}`);
      return v;
    }
    case 'duration': {
      const ms = parseGoDuration(raw);
      if (ms === null)
        throw new UsageError(`invalid duration "${raw}" for flag -${name} (e.g. 30s, 5m, 1m30s)`);
      return ms;
    }
  }
}

/** Parses argv against the specs; returns the values (defaults filled in), the rest, and whether help was asked. */
export function parseGoFlags(
  argv: readonly string[],
  specs: Readonly<Record<string, GoFlagSpec>>,
): { values: GoFlagValues; rest: string[]; help: boolean } {
  const values: GoFlagValues = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.default === undefined) continue;
    values[name] = spec.type === 'duration' ? convert(name, spec, String(spec.default)) : spec.default;
  }
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'h' || name === 'help') return { values, rest: [], help: true };
    const spec = specs[name];
    if (spec === undefined) {
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
    if (eq >= 0) {
      values[name] = convert(name, spec, body.slice(eq + 1));
    } else if (spec.type === 'bool') {
      values[name] = true;
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag needs an argument: -${name}`);
      values[name] = convert(name, spec, next);
      i++;
    }
  }
  return { values, rest: argv.slice(i), help: false };
}

/** The `-help` text: usage line, then one line per flag with its type and default, Go style. */
export function goFlagsHelp(usage: string, specs: Readonly<Record<string, GoFlagSpec>>): string {
  const lines = [usage, ''];
  for (const [name, spec] of Object.entries(specs)) {
    const type = spec.type === 'bool' ? '' : ` ${spec.type}`;
    const def =
      spec.default === undefined || spec.default === false || spec.default === ''
        ? ''
        : ` (default ${typeof spec.default === 'string' && spec.type === 'string' ? JSON.stringify(spec.default) : String(spec.default)})`;
    lines.push(`  -${name}${type}`, `    \t${spec.help}${def}`);
  }
  return lines.join('\n') + '\n';
}
