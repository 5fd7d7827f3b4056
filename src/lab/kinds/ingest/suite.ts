/**
 * Loading an ingest suite: parse, validate every rule with its JSON path (and line and column), and normalise into
 * the IngestSuite the runner uses (every default filled in, here and nowhere else; `--quick` sizes applied). A
 * suite with problems lists them all and starts nothing.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SuiteInvalidError, type ManifestProblem } from '../../../core/errors.js';
import {
  locateAndSortProblems,
  parseDocumentText,
  readConfigFile,
  schemaProblems,
} from '../../../core/config-document.js';
import type { ContestantSpec } from '../../run/contestant.js';
import { checkContestants, contestantSpec } from '../../suite-contestants.js';
import { durationMs } from '../../suite-schema.js';
import { IngestSuiteSchema, type HypothesisDocument, type IngestSuiteDocument } from './schema.js';

export interface IngestService {
  readonly name: string;
  readonly description: string;
  readonly spec: ContestantSpec;
  /** Its gRPC port (`{grpc_port}` in its command), when it has one. */
  readonly grpcPort: number | 'auto' | null;
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface IngestContestant {
  readonly name: string;
  readonly baseline: boolean;
  /** The spec with {port} left for ContestantProcess; {run_dir} and service URLs still to fill. */
  readonly spec: ContestantSpec;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly requires: { readonly check: readonly string[]; readonly install: string } | null;
  readonly preprocess: readonly string[] | null;
  readonly how: string;
}

export interface IngestScenario {
  readonly name: string;
  readonly description: string;
  readonly workers: number;
  readonly batch: number;
  readonly queue: number;
  /** Images sent; 0: the whole corpus. */
  readonly limit: number;
  readonly faces: boolean;
  readonly ocr: boolean;
  readonly timeoutMs: number;
}

export interface IngestSuite {
  readonly kind: 'ingest';
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly baseDir: string;
  readonly services: readonly IngestService[];
  readonly contestants: readonly IngestContestant[];
  readonly baseline: string;
  readonly corpus: {
    readonly dir: string;
    readonly count: number;
    readonly sources: readonly string[];
    readonly seed: number;
    readonly exactShare: number;
    readonly nearShare: number;
  };
  readonly warmupImages: number;
  readonly scenarios: readonly IngestScenario[];
  readonly preprocess: { readonly limit: number; readonly timeoutMs: number };
  readonly repeats: number;
  readonly correctness: { readonly iou: number; readonly minScore: number; readonly maxDisagreement: number };
  readonly hypotheses: readonly HypothesisDocument[];
  readonly quick: boolean;
}

export const INGEST_SUITE_DEFAULTS = Object.freeze({
  repeats: 3,
  warmupImages: 8,
  preprocessLimit: 200,
  preprocessTimeoutMs: 600_000,
  iou: 0.9,
  minScore: 0.6,
  seed: 42,
  exactShare: 0.1,
  nearShare: 0.1,
  scenarioTimeoutMs: 1_800_000,
});

/** Reads, validates and normalises an ingest suite; every problem with its JSON path. */
export async function loadIngestSuite(file: string, options: { quick?: boolean } = {}): Promise<IngestSuite> {
  const text = readConfigFile(file);
  const parsed = await parseDocumentText(text, file);
  if (!parsed.ok) throw new SuiteInvalidError(file, [{ path: '$', message: parsed.message }]);
  const problems: ManifestProblem[] = [...schemaProblems(IngestSuiteSchema, parsed.doc, '$')];
  if (problems.length > 0) {
    await locateAndSortProblems(text, problems);
    throw new SuiteInvalidError(file, problems);
  }
  const s = parsed.doc as IngestSuiteDocument;
  const baseDir = dirname(resolve(file));
  const quick = options.quick === true;
  const cwdOf = (at: string, cwd: string | undefined): string => {
    const dir = resolve(baseDir, cwd ?? '.');
    if (!existsSync(dir)) problems.push({ path: `${at}.cwd`, message: `no such folder: ${dir}` });
    return dir;
  };
  const services: IngestService[] = Object.entries(s.services ?? {}).map(([name, sv]) => ({
    name,
    description: sv.description ?? '',
    settings: sv.settings ?? {},
    spec: contestantSpec({ ...sv, name }, cwdOf(`$.services.${name}`, sv.cwd)),
    grpcPort: sv.grpc_port ?? null,
  }));
  const serviceNames = new Set(services.map((x) => x.name));
  const grpcServices = new Set(services.filter((x) => x.grpcPort !== null).map((x) => x.name));
  const names = new Set(s.contestants.map((c) => c.name));
  const baseline = checkContestants(s.contestants, problems);
  s.contestants.forEach((c, i) => {
    const at = `$.contestants[${i}]`;
    for (const m of c.command.join(' ').matchAll(/\{services\.([^.}]+)\.(url|grpc_url)\}/g)) {
      if (!serviceNames.has(m[1] ?? '')) {
        problems.push({
          path: `${at}.command`,
          message: `{services.${m[1]}.${m[2]}}: no service '${m[1]}' (services: ${[...serviceNames].join(', ') || 'none'})`,
        });
      } else if (m[2] === 'grpc_url' && !grpcServices.has(m[1] ?? '')) {
        problems.push({
          path: `${at}.command`,
          message: `{services.${m[1]}.grpc_url}: service '${m[1]}' has no grpc_port (give it grpc_port: auto)`,
        });
      }
    }
    if (c.command.some((x) => x.includes('{port}')) && c.port === undefined) {
      problems.push({ path: `${at}.port`, message: '{port} is used but no port is set (use port: auto)' });
    }
  });
  const contestants: IngestContestant[] = s.contestants.map((c, i) => ({
    name: c.name,
    baseline: c.name === baseline,
    settings: c.settings ?? {},
    requires: c.requires ?? null,
    preprocess: c.preprocess ?? null,
    how: c.command.join(' '),
    spec: contestantSpec(c, cwdOf(`$.contestants[${i}]`, c.cwd)),
  }));
  const scenarios: IngestScenario[] = Object.entries(s.scenarios).map(([name, sc]) => {
    const limit = (quick ? (sc.quick_limit ?? sc.limit) : sc.limit) ?? 0;
    return {
      name,
      description:
        sc.description ??
        `-workers ${sc.workers} -batch ${sc.batch}${limit > 0 ? `, ${limit} images` : ', the whole corpus'}`,
      workers: sc.workers,
      batch: sc.batch,
      queue: sc.queue ?? 1024,
      limit,
      faces: sc.faces ?? false,
      ocr: sc.ocr ?? false,
      timeoutMs: sc.timeout !== undefined ? durationMs(sc.timeout) : INGEST_SUITE_DEFAULTS.scenarioTimeoutMs,
    };
  });
  if (scenarios.length === 0) problems.push({ path: '$.scenarios', message: 'define at least one scenario' });
  const scenarioNames = new Set([...scenarios.map((x) => x.name), 'preprocess', 'process_overhead']);
  (s.hypotheses ?? []).forEach((h, i) => {
    if (!scenarioNames.has(h.scenario)) {
      problems.push({
        path: `$.hypotheses[${i}].scenario`,
        message: `no scenario '${h.scenario}' (${[...scenarioNames].join(', ')})`,
      });
    }
    if (h.contestant !== undefined && !names.has(h.contestant)) {
      problems.push({ path: `$.hypotheses[${i}].contestant`, message: `no contestant '${h.contestant}'` });
    }
  });
  const sources = (s.corpus.sources ?? ['/usr/share/darknet/data']).map((x) => resolve(baseDir, x));
  if (problems.length > 0) {
    await locateAndSortProblems(text, problems);
    throw new SuiteInvalidError(file, problems);
  }
  return {
    kind: 'ingest',
    name: s.name ?? file.replace(/^.*\//, '').replace(/\.(ya?ml|json)$/i, ''),
    description: s.description ?? '',
    file,
    baseDir,
    services,
    contestants,
    baseline,
    corpus: {
      dir: resolve(baseDir, s.corpus.dir),
      count: quick ? (s.corpus.quick_count ?? Math.min(100, s.corpus.count)) : s.corpus.count,
      sources,
      seed: s.corpus.seed ?? INGEST_SUITE_DEFAULTS.seed,
      exactShare: s.corpus.exact_share ?? INGEST_SUITE_DEFAULTS.exactShare,
      nearShare: s.corpus.near_share ?? INGEST_SUITE_DEFAULTS.nearShare,
    },
    warmupImages: s.warmup?.images ?? INGEST_SUITE_DEFAULTS.warmupImages,
    scenarios,
    preprocess: {
      limit:
        (quick ? (s.preprocess?.quick_limit ?? s.preprocess?.limit) : s.preprocess?.limit) ??
        INGEST_SUITE_DEFAULTS.preprocessLimit,
      timeoutMs:
        s.preprocess?.timeout !== undefined
          ? durationMs(s.preprocess.timeout)
          : INGEST_SUITE_DEFAULTS.preprocessTimeoutMs,
    },
    repeats: quick ? 1 : (s.repeats ?? INGEST_SUITE_DEFAULTS.repeats),
    correctness: {
      iou: s.correctness?.iou ?? INGEST_SUITE_DEFAULTS.iou,
      minScore: s.correctness?.min_score ?? INGEST_SUITE_DEFAULTS.minScore,
      maxDisagreement: s.correctness?.max_disagreement ?? 0,
    },
    hypotheses: s.hypotheses ?? [],
    quick,
  };
}
