/**
 * The ingest suite (`kind: ingest`): photo-ingest services compared under the batch-ingest load tool
 * (ingest-bench.ts), as the original benchmark guide set it up: one shared model server started once, every
 * contestant started fresh with a fresh index for every run, identical flags, interleaved repeats (A B, B A ...).
 *
 * Per run: spawn → healthy (cold start) → a warm-up batch of synthetic images (spawn → first answer) → the idle
 * RSS of the whole process tree (process overhead) → the load tool over the photo corpus while /proc sampling
 * measures the tree's RSS and CPU (and the model server's, to show where inference time goes) → stop. Besides
 * the runs: each contestant's own preprocessing probe (decode, letterbox, crop, one core, no inference), and the
 * correctness of what the services found: known copies in the corpus manifest, and the same duplicates and the
 * same detections per image as the baseline.
 *
 * This module loads and runs; ingest-report.ts turns the result into the report model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Type, type Static } from '@sinclair/typebox';
import sharp from 'sharp';
import { FormData, fetch } from 'undici';
import { BenchError, SuiteInvalidError, toError, type ManifestProblem } from '../../../core/errors.js';
import {
  locateAndSortProblems,
  parseDocumentText,
  readConfigFile,
  schemaProblems,
} from '../../../pipeline/config-document.js';
import { runJsonCommand } from '../http/ceiling.js';
import {
  ContestantProcess,
  escapeWarning,
  type ContestantSpec,
  type ContestantStopResult,
} from '../../run/contestant.js';
import { captureEnvironment, type Environment } from '../../environment.js';
import { runIngestBench, type IngestBenchProgress, type IngestBenchResult } from './bench.js';
import { makePhotoCorpus } from '../../photo-corpus.js';
import { sampleResources, type ResourceSummary } from '../../proc-sampler.js';
import { ContestantSchema, DurationSchema } from '../../suite-schema.js';
import { durationMs } from '../http/suite.js';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'letters, digits, _ . -' });
const Argv = Type.Array(Type.String(), { minItems: 1, description: 'argv (no shell)' });

const ServiceSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    command: Argv,
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    cwd: Type.Optional(Type.String({ description: 'relative to the suite file' })),
    port: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Literal('auto')])),
    health: ContestantSchema.properties.health,
    settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

const IngestContestantSchema = Type.Object(
  {
    ...Type.Omit(ContestantSchema, ['url']).properties,
    command: Argv,
    requires: Type.Optional(
      Type.Object(
        {
          check: Type.Array(Type.String(), {
            minItems: 1,
            description: 'argv that exits 0 when the set-up is there',
          }),
          install: Type.String({ description: 'the command that sets it up, shown when the check fails' }),
        },
        { additionalProperties: false },
      ),
    ),
    preprocess: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        description:
          'argv of the preprocessing probe; {corpus} and {limit} are replaced; prints JSON {images, cpu_ms_per_image, wall_ms_median}',
      }),
    ),
  },
  { additionalProperties: false },
);

const IngestScenarioSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    workers: Type.Integer({ minimum: 1 }),
    batch: Type.Integer({ minimum: 1 }),
    queue: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, description: 'images sent (default: the whole corpus)' }),
    ),
    quick_limit: Type.Optional(Type.Integer({ minimum: 1 })),
    faces: Type.Optional(Type.Boolean()),
    ocr: Type.Optional(Type.Boolean()),
    timeout: Type.Optional(DurationSchema),
  },
  { additionalProperties: false },
);

const HypothesisSchema = Type.Object(
  {
    statement: Type.String(),
    scenario: Type.String({ description: 'a scenario name, or preprocess' }),
    metric: Type.Union([
      Type.Literal('throughput'),
      Type.Literal('p50'),
      Type.Literal('peak_rss'),
      Type.Literal('cpu_per_request'),
      Type.Literal('time'),
    ]),
    at_least: Type.Number({
      exclusiveMinimum: 0,
      description: 'the factor the claim needs, oriented so that > 1 is better for the contestant',
    }),
    contestant: Type.Optional(Type.String({ description: 'default: every non-baseline contestant' })),
  },
  { additionalProperties: false },
);

export const IngestSuiteSchema = Type.Object(
  {
    kind: Type.Literal('ingest'),
    name: Type.Optional(Name),
    description: Type.Optional(Type.String()),
    services: Type.Optional(
      Type.Record(Type.String(), ServiceSchema, {
        description: 'started once before the contestants; {services.NAME.url} in contestant commands',
      }),
    ),
    contestants: Type.Array(IngestContestantSchema, { minItems: 1 }),
    corpus: Type.Object(
      {
        dir: Type.String({ description: 'cache folder of generated corpora, relative to the suite file' }),
        count: Type.Integer({ minimum: 2 }),
        quick_count: Type.Optional(Type.Integer({ minimum: 2 })),
        sources: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
        seed: Type.Optional(Type.Integer()),
        exact_share: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
        near_share: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
      },
      { additionalProperties: false },
    ),
    warmup: Type.Optional(
      Type.Object({ images: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
    ),
    scenarios: Type.Record(Type.String(), IngestScenarioSchema),
    preprocess: Type.Optional(
      Type.Object(
        {
          limit: Type.Optional(Type.Integer({ minimum: 1 })),
          quick_limit: Type.Optional(Type.Integer({ minimum: 1 })),
          timeout: Type.Optional(DurationSchema),
        },
        { additionalProperties: false },
      ),
    ),
    repeats: Type.Optional(Type.Integer({ minimum: 1 })),
    correctness: Type.Optional(
      Type.Object(
        {
          iou: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          min_score: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          max_disagreement: Type.Optional(
            Type.Number({
              minimum: 0,
              maximum: 1,
              description: 'share of images whose detections may differ (resamplers move borderline boxes)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    hypotheses: Type.Optional(Type.Array(HypothesisSchema)),
  },
  { additionalProperties: false },
);

type IngestSuiteDocument = Static<typeof IngestSuiteSchema>;
export type HypothesisDocument = Static<typeof HypothesisSchema>;

export interface IngestService {
  readonly name: string;
  readonly description: string;
  readonly spec: ContestantSpec;
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

/** The `kind` of a suite file without validating the rest (undefined: an HTTP suite). */
export async function suiteKind(file: string): Promise<string | undefined> {
  const parsed = await parseDocumentText(readConfigFile(file), file);
  if (!parsed.ok || typeof parsed.doc !== 'object' || parsed.doc === null) return undefined;
  const kind = (parsed.doc as { kind?: unknown }).kind;
  return typeof kind === 'string' ? kind : undefined;
}

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
  const healthOf = (h: IngestSuiteDocument['contestants'][number]['health']): ContestantSpec['health'] =>
    h === undefined
      ? undefined
      : {
          ...(h.url !== undefined ? { url: h.url } : {}),
          ...(h.status !== undefined ? { status: h.status } : {}),
          ...(h.timeout !== undefined ? { timeoutMs: durationMs(h.timeout) } : {}),
          ...(h.interval !== undefined ? { intervalMs: durationMs(h.interval) } : {}),
        };

  const services: IngestService[] = Object.entries(s.services ?? {}).map(([name, sv]) => {
    const health = healthOf(sv.health);
    return {
      name,
      description: sv.description ?? '',
      settings: sv.settings ?? {},
      spec: {
        name,
        command: sv.command,
        cwd: cwdOf(`$.services.${name}`, sv.cwd),
        ...(sv.env !== undefined ? { env: sv.env } : {}),
        ...(sv.port !== undefined ? { port: sv.port } : {}),
        ...(health !== undefined ? { health } : {}),
      },
    };
  });
  const serviceNames = new Set(services.map((x) => x.name));
  const names = new Set<string>();
  s.contestants.forEach((c, i) => {
    const at = `$.contestants[${i}]`;
    if (names.has(c.name))
      problems.push({ path: `${at}.name`, message: `duplicate contestant name '${c.name}'` });
    names.add(c.name);
    for (const m of c.command.join(' ').matchAll(/\{services\.([^.}]+)\.url\}/g)) {
      if (!serviceNames.has(m[1] ?? '')) {
        problems.push({
          path: `${at}.command`,
          message: `{services.${m[1]}.url}: no service '${m[1]}' (services: ${[...serviceNames].join(', ') || 'none'})`,
        });
      }
    }
    if (c.command.some((x) => x.includes('{port}')) && c.port === undefined) {
      problems.push({ path: `${at}.port`, message: '{port} is used but no port is set (use port: auto)' });
    }
  });
  const marked = s.contestants.filter((c) => c.baseline === true);
  if (marked.length > 1) {
    problems.push({ path: '$.contestants', message: 'only one contestant can be the baseline' });
  }
  const baseline = marked[0]?.name ?? s.contestants[0]?.name ?? '';
  const contestants: IngestContestant[] = s.contestants.map((c, i) => {
    const health = healthOf(c.health);
    return {
      name: c.name,
      baseline: c.name === baseline,
      settings: c.settings ?? {},
      requires: c.requires ?? null,
      preprocess: c.preprocess ?? null,
      how: c.command.join(' '),
      spec: {
        name: c.name,
        command: c.command,
        cwd: cwdOf(`$.contestants[${i}]`, c.cwd),
        ...(c.env !== undefined ? { env: c.env } : {}),
        ...(c.port !== undefined ? { port: c.port } : {}),
        ...(health !== undefined ? { health } : {}),
        ...(c.stop_grace !== undefined ? { stopGraceMs: durationMs(c.stop_grace) } : {}),
      },
    };
  });
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

/** One contestant's run of one scenario in one repeat. */
export interface IngestRun {
  readonly scenario: string;
  readonly repeat: number;
  readonly contestant: string;
  /** Spawn → healthy, ms (null: did not start). */
  readonly toHealthyMs: number | null;
  /** Spawn → the warm-up batch answered, ms. */
  readonly toFirstAnswerMs: number | null;
  /** RSS of the tree after the warm-up, before the load, MiB. */
  readonly idleRssMb: number | null;
  readonly bench: IngestBenchResult | null;
  readonly resources: ResourceSummary | null;
  /** The shared services' trees during the load (CPU and RSS). */
  readonly services: Readonly<Record<string, ResourceSummary>>;
  /** CPU-seconds the lab process (the load tool) used during the load. */
  readonly clientCpuSeconds: number | null;
  readonly failure: string | null;
}

/** One contestant's preprocessing probe. */
export interface PreprocessRun {
  readonly contestant: string;
  readonly repeat: number;
  readonly images: number | null;
  readonly cpuMsPerImage: number | null;
  readonly wallMsMedian: number | null;
  readonly output: unknown;
  readonly failure: string | null;
}

export interface IngestSuiteResult {
  readonly suite: IngestSuite;
  readonly environment: Environment;
  readonly corpus: {
    readonly dir: string;
    readonly count: number;
    readonly totalBytes: number;
    readonly cached: boolean;
  };
  /** Contestants left out because their set-up is missing, with the command that sets it up. */
  readonly skipped: Readonly<Record<string, string>>;
  readonly runs: readonly IngestRun[];
  readonly preprocess: readonly PreprocessRun[];
  readonly interrupted: boolean;
  /** Warnings from stopping contestants and services: processes left outside their group, which were killed. */
  readonly stopWarnings?: readonly string[];
}

export type IngestSuiteProgress =
  | { readonly kind: 'phase'; readonly text: string }
  /** Something the user must see that is not progress (a contestant left a process behind): a line of its own. */
  | { readonly kind: 'warning'; readonly text: string }
  | { readonly kind: 'step'; readonly done: number; readonly total: number; readonly label: string }
  | { readonly kind: 'load'; readonly label: string; readonly progress: IngestBenchProgress };

export interface IngestSuiteOptions {
  readonly only?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: IngestSuiteProgress) => void;
  readonly onLog?: (name: string, line: string) => void;
}

/** The set-up check of a contestant: null when it is there, else the reason and the command that fixes it. */
export function missingSetup(c: IngestContestant): string | null {
  if (c.requires === null) return null;
  const [cmd, ...args] = c.requires.check as [string, ...string[]];
  const r = spawnSync(cmd, args, { cwd: c.spec.cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  if (r.status === 0) return null;
  const why = r.error !== undefined ? r.error.message : (r.stderr.toString().trim().split('\n').at(-1) ?? '');
  return `set-up missing (${c.requires.check.join(' ')}: ${why || `exit ${String(r.status)}`}); to enable it: ${c.requires.install}`;
}

const fill = (argv: readonly string[], values: Readonly<Record<string, string>>): string[] =>
  argv.map((a) => a.replace(/\{([a-z_.]+)\}/g, (m, key: string) => values[key] ?? m));

/** Synthetic warm-up photos (smooth noise, not near any corpus photo), made once beside the corpora. */
async function warmupImages(dir: string, count: number): Promise<string[]> {
  const folder = join(dir, 'warmup');
  mkdirSync(folder, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(folder, `warmup-${i}.jpg`);
    paths.push(path);
    if (existsSync(path)) continue;
    await sharp({
      create: {
        width: 1600,
        height: 1200,
        channels: 3,
        background: { r: (i * 53) % 256, g: (i * 97) % 256, b: (i * 151) % 256 },
        noise: { type: 'gaussian', mean: 96 + ((i * 17) % 64), sigma: 40 },
      },
    })
      .blur(3)
      .jpeg({ quality: 85 })
      .toFile(path);
  }
  return paths;
}

/** Uploads the warm-up photos as two concurrent batches (so two server workers both warm up). */
async function warmUp(baseUrl: string, paths: readonly string[], signal: AbortSignal): Promise<void> {
  if (paths.length === 0) return;
  const halves = [paths.filter((_, i) => i % 2 === 0), paths.filter((_, i) => i % 2 === 1)].filter(
    (h) => h.length > 0,
  );
  const { openAsBlob } = await import('node:fs');
  await Promise.all(
    halves.map(async (half) => {
      const form = new FormData();
      for (const [i, p] of half.entries())
        form.append(`file${i}`, await openAsBlob(p), p.replace(/^.*\//, ''));
      const res = await fetch(`${baseUrl}/ingest/batch`, { method: 'POST', body: form, signal });
      const text = await res.text();
      if (res.status !== 200)
        throw new Error(`the warm-up batch was answered ${res.status}: ${text.slice(0, 300)}`);
      const body = JSON.parse(text) as { errors_count?: number; errors?: { message?: string }[] };
      if ((body.errors_count ?? 0) > 0) {
        throw new Error(`the warm-up batch had errors: ${body.errors?.[0]?.message ?? '?'}`);
      }
    }),
  );
}

/** RSS of a process tree now, MiB (a short sampling window). */
async function rssNowMb(pid: number): Promise<number | null> {
  const sampler = sampleResources(pid, 50);
  await new Promise((r) => setTimeout(r, 300));
  const s = await sampler.stop();
  return s.samples > 0 ? s.meanRssKb / 1024 : null;
}

/** Runs the suite. Throws only when nothing can run (the corpus cannot be made, a shared service fails). */
export async function runIngestSuite(
  suite: IngestSuite,
  options: IngestSuiteOptions = {},
): Promise<IngestSuiteResult> {
  const environment = captureEnvironment({ python: '/usr/bin/python3', repoDir: suite.baseDir });
  const progress = options.onProgress ?? (() => undefined);
  const aborted = (): boolean => options.signal?.aborted === true;
  const stopWarnings: string[] = [];
  const stopped = (name: string, result: ContestantStopResult): void => {
    const warning = escapeWarning(name, result);
    if (warning === null) return;
    stopWarnings.push(warning);
    progress({ kind: 'warning', text: warning });
  };
  const scenarios = suite.scenarios.filter(
    (s) => options.only === undefined || options.only.includes(s.name),
  );

  // 1. Set-up checks: a contestant whose set-up is missing is skipped, with the command that enables it.
  const skipped: Record<string, string> = {};
  for (const c of suite.contestants) {
    const missing = missingSetup(c);
    if (missing !== null) skipped[c.name] = missing;
  }
  const active = suite.contestants.filter((c) => skipped[c.name] === undefined);

  // 2. The corpus (cached) and the warm-up photos.
  progress({ kind: 'phase', text: `photo corpus: ${suite.corpus.count} images` });
  const corpusDir = join(suite.corpus.dir, `photos-${suite.corpus.count}-seed${suite.corpus.seed}`);
  const made = await makePhotoCorpus(
    {
      out: corpusDir,
      count: suite.corpus.count,
      sources: [...suite.corpus.sources],
      seed: suite.corpus.seed,
      exactShare: suite.corpus.exactShare,
      nearShare: suite.corpus.nearShare,
    },
    ({ done, total }) => progress({ kind: 'step', done, total, label: 'making the photo corpus' }),
  ).catch((e: unknown) => {
    const hint = suite.corpus.sources.includes('/usr/share/darknet/data')
      ? " (the default photos come from Debian's darknet package: sudo apt-get install -y darknet)"
      : '';
    throw new BenchError(`cannot make the photo corpus: ${toError(e).message}${hint}`);
  });
  const warmups = await warmupImages(suite.corpus.dir, suite.warmupImages);
  const corpus = {
    dir: made.dir,
    count: made.manifest.count,
    totalBytes: made.manifest.total_bytes,
    cached: made.cached,
  };

  const runs: IngestRun[] = [];
  const preprocess: PreprocessRun[] = [];
  const services = new Map<string, ContestantProcess>();
  try {
    // 3. Shared services, started once.
    for (const sv of suite.services) {
      if (aborted()) break;
      progress({ kind: 'phase', text: `starting the shared service ${sv.name}` });
      try {
        services.set(
          sv.name,
          await ContestantProcess.start(sv.spec, { onLog: (line) => options.onLog?.(sv.name, line) }),
        );
      } catch (e) {
        throw new BenchError(`the shared service '${sv.name}' did not start: ${toError(e).message}`);
      }
    }
    const values: Record<string, string> = {};
    for (const [name, p] of services) values[`services.${name}.url`] = p.baseUrl;

    // 4. Preprocessing probes, on a quiet machine (the services idle), interleaved.
    const order = active.map((c) => c.name);
    const total = scenarios.length * suite.repeats * order.length;
    for (let r = 0; r < suite.repeats && !aborted(); r++) {
      for (const name of r % 2 === 0 ? order : [...order].reverse()) {
        const c = active.find((x) => x.name === name) as IngestContestant;
        if (c.preprocess === null || aborted()) continue;
        progress({
          kind: 'phase',
          text: `preprocessing probe: ${c.name} (${suite.preprocess.limit} images)`,
        });
        preprocess.push(await runPreprocess(c, r, corpus.dir, suite.preprocess, options.signal));
      }
    }

    // 5. The scenarios: interleaved repeats, a fresh process and index for every run.
    let done = 0;
    for (const sc of scenarios) {
      for (let r = 0; r < suite.repeats; r++) {
        for (const name of r % 2 === 0 ? order : [...order].reverse()) {
          if (aborted()) break;
          const label = `${sc.name} · ${name} · repeat ${r + 1}/${suite.repeats}`;
          progress({ kind: 'step', done, total, label });
          const c = active.find((x) => x.name === name) as IngestContestant;
          runs.push(
            await measureRun(
              suite,
              sc,
              c,
              r,
              corpus.dir,
              warmups,
              values,
              services,
              options,
              label,
              (result) => {
                stopped(c.name, result);
              },
            ),
          );
          done++;
        }
      }
    }
    progress({ kind: 'step', done, total, label: aborted() ? 'interrupted' : 'done' });
  } finally {
    progress({ kind: 'phase', text: 'stopping the shared services' });
    await Promise.all([...services].map(async ([name, p]) => stopped(name, await p.stop())));
  }
  return { suite, environment, corpus, skipped, runs, preprocess, interrupted: aborted(), stopWarnings };
}

async function runPreprocess(
  c: IngestContestant,
  repeat: number,
  corpus: string,
  config: IngestSuite['preprocess'],
  signal: AbortSignal | undefined,
): Promise<PreprocessRun> {
  const base = { contestant: c.name, repeat };
  const run = await runJsonCommand(fill(c.preprocess ?? [], { corpus, limit: String(config.limit) }), {
    cwd: c.spec.cwd ?? process.cwd(),
    timeoutMs: config.timeoutMs,
    ...(signal !== undefined ? { signal } : {}),
  });
  if (!run.ok) {
    return {
      ...base,
      images: null,
      cpuMsPerImage: null,
      wallMsMedian: null,
      output: null,
      failure: run.failure,
    };
  }
  const o = run.output as { images?: unknown; cpu_ms_per_image?: unknown; wall_ms_median?: unknown };
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const cpu = num(o.cpu_ms_per_image);
  return {
    ...base,
    images: num(o.images),
    cpuMsPerImage: cpu,
    wallMsMedian: num(o.wall_ms_median),
    output: run.output,
    failure: cpu === null ? 'printed no cpu_ms_per_image' : null,
  };
}

async function measureRun(
  suite: IngestSuite,
  sc: IngestScenario,
  c: IngestContestant,
  repeat: number,
  corpus: string,
  warmups: readonly string[],
  values: Readonly<Record<string, string>>,
  services: ReadonlyMap<string, ContestantProcess>,
  options: IngestSuiteOptions,
  label: string,
  onStopped: (result: ContestantStopResult) => void,
): Promise<IngestRun> {
  const base = { scenario: sc.name, repeat, contestant: c.name };
  const empty = {
    toHealthyMs: null,
    toFirstAnswerMs: null,
    idleRssMb: null,
    bench: null,
    resources: null,
    services: {},
    clientCpuSeconds: null,
  };
  const runDir = await mkdtemp(join(tmpdir(), `pitlane-ingest-${c.name}-`));
  const spec: ContestantSpec = {
    ...c.spec,
    command: fill(c.spec.command ?? [], { ...values, run_dir: runDir }),
    ...(c.spec.env !== undefined
      ? {
          env: Object.fromEntries(
            Object.entries(c.spec.env).map(([k, v]) => [
              k,
              fill([v], { ...values, run_dir: runDir })[0] ?? v,
            ]),
          ),
        }
      : {}),
  };
  let proc: ContestantProcess | null = null;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort('interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      proc = await ContestantProcess.start(spec, { onLog: (line) => options.onLog?.(c.name, line) });
    } catch (e) {
      return { ...base, ...empty, failure: `did not start: ${toError(e).message}` };
    }
    const died = proc.exited.then((exit) => {
      stop.abort(
        `${c.name} ${exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`} during the run`,
      );
    });
    void died;
    const toHealthyMs = proc.spawnToHealthyMs;
    try {
      await warmUp(proc.baseUrl, warmups, stop.signal);
    } catch (e) {
      return {
        ...base,
        ...empty,
        toHealthyMs,
        failure: `warm-up failed: ${toError(e).message}; last log lines:\n${proc.logTail(10).join('\n')}`,
      };
    }
    const toFirstAnswerMs = Number(process.hrtime.bigint() - proc.spawnedAtNs) / 1e6;
    const idleRssMb = proc.pid !== null ? await rssNowMb(proc.pid) : null;
    const sampler = proc.pid !== null ? sampleResources(proc.pid, 100) : null;
    const serviceSamplers = [...services].flatMap(([name, p]) =>
      p.pid !== null ? [[name, sampleResources(p.pid, 100)] as const] : [],
    );
    const cpu0 = process.cpuUsage();
    const bench = await runIngestBench({
      dir: corpus,
      url: proc.baseUrl,
      workers: sc.workers,
      batch: sc.batch,
      queue: sc.queue,
      reportSeconds: 0,
      faces: sc.faces,
      ocr: sc.ocr,
      details: true,
      limit: sc.limit,
      timeoutMs: sc.timeoutMs,
      signal: stop.signal,
      onTick: (p) => options.onProgress?.({ kind: 'load', label, progress: p }),
    });
    const cpu = process.cpuUsage(cpu0);
    const resources = sampler !== null ? await sampler.stop() : null;
    const serviceResources: Record<string, ResourceSummary> = {};
    for (const [name, s] of serviceSamplers) serviceResources[name] = await s.stop();
    const failure = stop.signal.aborted
      ? `${String(stop.signal.reason)}${proc.alive ? '' : `; last log lines:\n${proc.logTail(10).join('\n')}`}`
      : !bench.complete
        ? `the run ended early: ${bench.stopped_because ?? 'not every image was sent'}`
        : null;
    return {
      ...base,
      toHealthyMs,
      toFirstAnswerMs,
      idleRssMb,
      bench,
      resources,
      services: serviceResources,
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      failure,
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (proc !== null) onStopped(await proc.stop());
    await rm(runDir, { recursive: true, force: true });
  }
}
