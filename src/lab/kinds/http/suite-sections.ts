/**
 * The sections of an HTTP suite file that take more than the schema to read: thresholds (parsed expressions),
 * workload bodies (inline, a JSONL file, items or a generator module), the correctness rule (with a custom
 * comparator module) and ceilings (known scenarios, JSON paths that parse, a folder that exists). Each pushes
 * every problem it finds with its JSON path; suite.ts puts them together.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { toError, type ManifestProblem } from '../../../core/errors.js';
import { MAX_CONFIG_FILE_BYTES, readUserFile, readUserTextFile } from '../../../core/user-file.js';
import { parsePaths, type CorrectnessRule, type CustomCompare } from '../../correctness.js';
import { parseJsonPath } from '../../json-path.js';
import { durationMs } from '../../suite-schema.js';
import type { CeilingDocument, SuiteDocument, WorkloadDocument } from './schema.js';
import { parseThreshold, type Threshold } from '../../thresholds.js';
import { MAX_BODY_FILE_BYTES, SUITE_DEFAULTS } from './defaults.js';

/** The suite's ceiling: a command that prints JSON, and where each scenario's figures are in it. */
export interface SuiteCeiling {
  readonly name: string;
  readonly description: string;
  readonly command: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Appended to the command under --quick. */
  readonly quickArgs: readonly string[];
  readonly timeoutMs: number;
  readonly scenarios: ReadonlyMap<string, { readonly throughput?: string; readonly p50Ms?: string }>;
}

export function thresholdsOf(list: readonly string[], at: string, problems: ManifestProblem[]): Threshold[] {
  const out: Threshold[] = [];
  list.forEach((expr, i) => {
    const t = parseThreshold(expr);
    if (typeof t === 'string') problems.push({ path: `${at}[${i}]`, message: t });
    else out.push(t);
  });
  return out;
}

export async function workloadBodies(
  w: WorkloadDocument,
  at: string,
  baseDir: string,
  problems: ManifestProblem[],
): Promise<(string | null)[]> {
  const sources = [
    w.body !== undefined,
    w.bodies?.file !== undefined,
    w.bodies?.items !== undefined,
    w.generator !== undefined,
  ];
  if (sources.filter(Boolean).length > 1) {
    problems.push({ path: at, message: 'give at most one of body, bodies.file, bodies.items, generator' });
    return [null];
  }
  if (w.body !== undefined) return [JSON.stringify(w.body)];
  if (w.bodies?.items !== undefined) return w.bodies.items.map((b) => JSON.stringify(b));
  if (w.bodies?.file !== undefined) {
    const path = resolve(baseDir, w.bodies.file);
    let text: string;
    try {
      // Only a regular file of bounded size: /dev/zero would be read forever, a FIFO would block the load.
      text = readUserTextFile(path, 'body file', MAX_BODY_FILE_BYTES);
    } catch (e) {
      problems.push({ path: `${at}.bodies.file`, message: `cannot read ${toError(e).message}` });
      return [null];
    }
    const out: string[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        out.push(JSON.stringify(JSON.parse(line)));
      } catch {
        problems.push({
          path: `${at}.bodies.file`,
          message: `${path}: line ${i + 1} is not JSON (a body file is JSONL: one JSON body per line)`,
        });
      }
    });
    if (out.length === 0) problems.push({ path: `${at}.bodies.file`, message: `${path} holds no bodies` });
    return out;
  }
  if (w.generator !== undefined) {
    const path = resolve(baseDir, w.generator);
    const unreadable = unreadableModule(path, 'generator module');
    if (unreadable !== null) {
      problems.push({ path: `${at}.generator`, message: unreadable });
      return [null];
    }
    try {
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      if (typeof mod.default !== 'function') {
        problems.push({
          path: `${at}.generator`,
          message: `${path} has no default export function (index) => body`,
        });
        return [null];
      }
      const make = mod.default as (index: number) => unknown;
      return Array.from({ length: 1000 }, (_, i) => JSON.stringify(make(i)));
    } catch (e) {
      problems.push({ path: `${at}.generator`, message: `cannot load ${path}: ${toError(e).message}` });
      return [null];
    }
  }
  return [null];
}

export async function correctnessRule(
  s: SuiteDocument,
  baseDir: string,
  problems: ManifestProblem[],
): Promise<CorrectnessRule> {
  const c = s.correctness;
  if (c === undefined) return { mode: 'exact', ignore: [] };
  const ignore = parsePaths(c.ignore ?? []);
  ignore.problems.forEach((m) => problems.push({ path: '$.correctness.ignore', message: m }));
  switch (c.mode) {
    case 'none':
      return { mode: 'none' };
    case 'exact':
      return { mode: 'exact', ignore: ignore.paths };
    case 'json_tolerance':
      return {
        mode: 'json_tolerance',
        tolerance: c.tolerance ?? SUITE_DEFAULTS.tolerance,
        ignore: ignore.paths,
      };
    case 'cosine': {
      if (c.path === undefined) {
        problems.push({
          path: '$.correctness.path',
          message: 'required for mode cosine (e.g. $.data[*].embedding)',
        });
        return { mode: 'none' };
      }
      const p = parsePaths([c.path]);
      p.problems.forEach((m) => problems.push({ path: '$.correctness.path', message: m }));
      return { mode: 'cosine', path: p.paths[0] ?? [], minCosine: c.min_cosine ?? SUITE_DEFAULTS.minCosine };
    }
    case 'custom': {
      if (c.module === undefined) {
        problems.push({ path: '$.correctness.module', message: 'required for mode custom' });
        return { mode: 'none' };
      }
      const path = resolve(baseDir, c.module);
      const unreadable = unreadableModule(path, 'compare module');
      if (unreadable !== null) {
        problems.push({ path: '$.correctness.module', message: unreadable });
        return { mode: 'none' };
      }
      try {
        const mod = (await import(pathToFileURL(path).href)) as { compare?: unknown };
        if (typeof mod.compare !== 'function') {
          problems.push({
            path: '$.correctness.module',
            message: `${path} exports no function compare(baseline, other)`,
          });
          return { mode: 'none' };
        }
        return { mode: 'custom', compare: mod.compare as CustomCompare };
      } catch (e) {
        problems.push({
          path: '$.correctness.module',
          message: `cannot load ${path}: ${toError(e).message}`,
        });
        return { mode: 'none' };
      }
    }
    default:
      return { mode: 'none' };
  }
}

/**
 * Why a module a suite names cannot be imported, or null: import() reads whatever the path is, so a device
 * (`/dev/zero`) would be read until memory runs out and a FIFO would block the load. Only a regular file of at
 * most MAX_CONFIG_FILE_BYTES is imported.
 */
function unreadableModule(path: string, what: string): string | null {
  try {
    readUserFile(path, what, MAX_CONFIG_FILE_BYTES);
    return null;
  } catch (e) {
    return `cannot load ${toError(e).message}`;
  }
}

/** The ceiling block: a known scenario for each mapping, JSON paths that parse, a folder that exists. */
export function ceilingOf(
  c: CeilingDocument,
  where: string,
  scenarioNames: readonly string[],
  baseDir: string,
  problems: ManifestProblem[],
  /** Mappings of scenarios the suite does not have are dropped, not errors (scenarios from --scenarios). */
  dropUnknown = false,
): SuiteCeiling {
  const cwd = resolve(baseDir, c.cwd ?? '.');
  if (!existsSync(cwd)) problems.push({ path: `${where}.cwd`, message: `no such folder: ${cwd}` });
  const scenarios = new Map<string, { throughput?: string; p50Ms?: string }>();
  for (const [name, m] of Object.entries(c.scenarios)) {
    const at = `${where}.scenarios.${name}`;
    if (!scenarioNames.includes(name)) {
      if (dropUnknown) continue;
      problems.push({
        path: at,
        message: `no scenario '${name}' (scenarios: ${scenarioNames.join(', ')})`,
      });
    }
    for (const [key, path] of [
      ['throughput', m.throughput],
      ['p50_ms', m.p50_ms],
    ] as const) {
      if (path === undefined) continue;
      const parsed = parseJsonPath(path);
      if (typeof parsed === 'string') problems.push({ path: `${at}.${key}`, message: parsed });
    }
    scenarios.set(name, {
      ...(m.throughput !== undefined ? { throughput: m.throughput } : {}),
      ...(m.p50_ms !== undefined ? { p50Ms: m.p50_ms } : {}),
    });
  }
  return {
    name: c.name,
    description: c.description,
    command: c.command,
    cwd,
    env: c.env ?? {},
    quickArgs: c.quick_args ?? [],
    timeoutMs: c.timeout !== undefined ? durationMs(c.timeout) : SUITE_DEFAULTS.ceilingTimeoutMs,
    scenarios,
  };
}
