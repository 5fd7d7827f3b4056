/**
 * The pitlane side of a pipeline benchmark, run in a fresh process per repeat (as the CPython reference's
 * `bench` subcommand is): warm-up, then timed samples of one scenario, then one JSON line with the samples,
 * a hash of the outputs (to check both runtimes agree) and the peak RSS of this process.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { readFile } from 'node:fs/promises';
import { runPipeline } from '../../../pipeline/executor.js';
import { loadManifestFile, type Manifest } from '../../../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../../../nodes/registry.js';
import { BenchError } from '../../../core/errors.js';

export interface BenchWorkerOptions {
  readonly samples: number;
  readonly warmup: number;
  /** Keep warming up until this many milliseconds have passed (and `warmup` runs are done). */
  readonly warmupMs: number;
  readonly mode: 'run' | 'init';
  readonly concurrent: number;
  readonly input?: string;
  /** Forces the runtime of Python nodes whose hint is auto. */
  readonly pythonRuntime?: 'cpython' | 'pyodide';
}

/** The input as the async stream the executor reads (as stdin would be). */
async function* fromArray(items: readonly unknown[]): AsyncGenerator {
  for (const item of items) yield await Promise.resolve(item);
}

/** How the last run's nodes said they ran (the Python runtime chosen, and why). */
let lastDetails = '';

async function once(
  manifest: Manifest,
  input: readonly unknown[],
  opts: BenchWorkerOptions,
): Promise<unknown[]> {
  const result = await runPipeline(manifest, {
    input: fromArray(input),
    ...(opts.pythonRuntime !== undefined ? { nodeOptions: { pythonRuntime: opts.pythonRuntime } } : {}),
  });
  if (result.state !== 'completed')
    throw new BenchError(`benchmark pipeline ${result.state}: ${result.error?.message ?? ''}`);
  lastDetails = result.stats.flatMap((s) => (s.detail !== null ? [`${s.id}: ${s.detail}`] : [])).join('; ');
  return result.outputs;
}

export async function benchWorker(file: string, opts: BenchWorkerOptions): Promise<number> {
  const input: unknown[] = [];
  if (opts.input !== undefined) {
    for (const line of (await readFile(opts.input, 'utf8')).split('\n'))
      if (line.trim() !== '') input.push(JSON.parse(line));
  }
  const manifest = opts.mode === 'run' ? await loadManifestFile(file, BUILTIN_NODE_TYPES) : null;
  const sample = async (): Promise<unknown[]> => {
    if (manifest === null) return once(await loadManifestFile(file, BUILTIN_NODE_TYPES), [], opts);
    if (opts.concurrent === 1) return once(manifest, input, opts);
    const all = await Promise.all(Array.from({ length: opts.concurrent }, () => once(manifest, input, opts)));
    return all[0] ?? [];
  };
  // Warm-up: at least `warmup` runs and at least `warmupMs` (V8 optimises hot code only after a while).
  const warmStart = performance.now();
  let warmRuns = 0;
  while (warmRuns < opts.warmup || performance.now() - warmStart < opts.warmupMs) {
    await sample();
    warmRuns++;
  }
  const samplesNs: number[] = [];
  let outputs: unknown[] = [];
  for (let i = 0; i < opts.samples; i++) {
    outputs.length = 0; // let the previous sample's outputs go first (the reference does the same)
    const t0 = process.hrtime.bigint();
    outputs = await sample();
    samplesNs.push(Number(process.hrtime.bigint() - t0));
  }
  const hash = createHash('sha256');
  for (const v of outputs) hash.update(JSON.stringify(v) + '\n');
  process.stdout.write(
    JSON.stringify({
      runtime: 'pitlane',
      node_version: process.versions.node,
      mode: opts.mode,
      samples_ns: samplesNs,
      warmup: warmRuns,
      output_count: outputs.length,
      outputs_sha256: hash.digest('hex'),
      peak_rss_kb: process.resourceUsage().maxRSS,
      details: lastDetails,
    }) + '\n',
  );
  return 0;
}
