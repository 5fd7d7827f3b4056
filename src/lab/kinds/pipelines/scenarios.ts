/**
 * The scenarios of `pitlane bench pipelines`: the plans' four (simple, complex, text, large) plus per-item cost
 * at 10^5 and 10^6 items, initialisation, concurrency, cold start and a streaming CLI run. Manifests are built
 * here and written as JSON, which both runtimes read.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { packageRoot } from '../../../process/package-root.js';

type NodeDoc = { id: string; node_type: string; params?: Record<string, unknown> };

/** A linear manifest: a DataSource (or none, when `source` is null) through `stages` to a DataSink. */
export function chainManifest(
  name: string,
  source: Record<string, unknown> | null,
  stages: Omit<NodeDoc, 'id'>[],
): object {
  const nodes: NodeDoc[] = [];
  if (source !== null) nodes.push({ id: 'source', node_type: 'DataSource', params: source });
  stages.forEach((s, i) => nodes.push({ id: `n${i + 1}`, ...s }));
  nodes.push({ id: 'sink', node_type: 'DataSink' });
  const connections = nodes.slice(1).map((n, i) => ({ from: (nodes[i] as NodeDoc).id, to: n.id }));
  return { version: 'v1', metadata: { name }, nodes, connections };
}

const calc = (operation: string, operand: number): Omit<NodeDoc, 'id'> => ({
  node_type: 'Calculator',
  params: { operation, operand },
});
const range = (stop: number): Record<string, unknown> => ({ range: { start: 0, stop } });

/** How a scenario is measured. */
export type ScenarioKind =
  /** In-process timed samples in a fresh worker process per repeat (both runtimes' `bench` commands). */
  | 'samples'
  /** Process spawn → first output line of `run`, over fresh processes (hyperfine-style). */
  | 'cold_start'
  /** A whole `run` over a JSONL file, stdin → file: wall time and peak RSS of the process. */
  | 'stream'
  /**
   * A whole `run M -i AUDIO` over prepared speech (media-inputs.ts): wall time and peak RSS of the process tree;
   * outputs compared between contestants and their `text` scored against the transcription (word error rate).
   */
  | 'media'
  /**
   * Live capacity (live-capacity.ts): the most concurrent real-time streams of prepared speech the executor
   * sustains (`run -i AUDIO --realtime --streams N`), and its per-frame latency at one stream.
   */
  | 'live';

export interface PipelineScenario {
  readonly name: string;
  readonly description: string;
  readonly kind: ScenarioKind;
  readonly manifest: object;
  /** Items per pipeline run (for per-item cost); for `stream`, lines of the generated input. */
  readonly items: number;
  /** Part of the plans' four-scenario geometric mean. */
  readonly headline: boolean;
  readonly mode?: 'run' | 'init';
  /** A different manifest for some contestants (pitlane native runs the native equivalent of a Python node). */
  readonly manifestFor?: Partial<
    Record<'pitlane' | 'pitlane-cpython' | 'pitlane-pyodide' | 'cpython', object>
  >;
  /** Who runs it (default pitlane and the reference); Python scenarios add pitlane on each Python runtime. */
  readonly contestants?: readonly ('pitlane' | 'pitlane-cpython' | 'pitlane-pyodide' | 'cpython')[];
  readonly concurrent?: number;
  /**
   * The interpreter the reference must run this scenario on, when the suite's `--python` will not do: the speech
   * rows need Debian's, the one with python3-pocketsphinx and numpy.
   */
  readonly referencePython?: string;
  /** media and live: the rate, channel count (and for live, length) the LibriVox speech is prepared at. */
  readonly media?: { readonly sampleRate: number; readonly channels: number; readonly seconds?: number };
  /**
   * live: the most streams tried, and the manifest whose outputs the contestants must agree on (the live manifest
   * may emit wall-clock readings, which differ by design).
   */
  readonly live?: {
    readonly maxStreams: number;
    readonly checkManifest: object;
    /** Seconds at the start of each trial that warm up and are not counted (`run --warmup`). */
    readonly warmupS: number;
    /** At most this many repeats (each one is a whole capacity search). */
    readonly repeats: number;
  };
  /**
   * Samples and minimum warm-up runs per worker process, per runtime; for cold_start and stream: processes per
   * repeat. Every `samples` scenario also warms up for at least `warmupMs` in both runtimes (the same rule).
   */
  readonly pitlane: { readonly samples: number; readonly warmup: number };
  readonly cpython: { readonly samples: number; readonly warmup: number };
}

/** A Python node running `code`'s only class. */
const py = (code: string, init: Record<string, unknown> = {}): Omit<NodeDoc, 'id'> => ({
  node_type: 'python',
  params: { code, init },
});

const PY_ADD = `class Add:
    def __init__(self, operand=5):
        self.operand = operand

    def process(self, x):
        return x + self.operand
`;
const PY_REVERSE = `class Reverse:
    def process(self, values):
        return values[::-1]
`;
const PY_MAKE_BYTES = `class MakeBytes:
    def process(self, n):
        return bytes((n + i) % 256 for i in range(256)) * 4096
`;
const PY_LENGTH = `class Length:
    def process(self, blob):
        return len(blob)
`;

/** Python scenarios: pitlane with each Python runtime against the reference (and pitlane native where it has the node). */
const PYTHON_RUNTIMES = ['pitlane-cpython', 'pitlane-pyodide', 'cpython'] as const;
const WITH_NATIVE = ['pitlane', 'pitlane-cpython', 'pitlane-pyodide', 'cpython'] as const;

const TEXTS = Array.from({ length: 100 }, (_, i) => `item ${i}: the quick brown fox jumps over the lazy dog`);

const COMPLEX_STAGES = [
  calc('add', 5),
  calc('multiply', 2),
  { node_type: 'PassThrough' },
  calc('subtract', 3),
  calc('divide', 4),
  calc('add', 1),
  { node_type: 'PassThrough' },
  calc('multiply', 3),
];

/** The media and live scenarios: one whole `run` per repeat (their time is the process's), not a headline. */
const WHOLE_RUNS = {
  items: 0,
  headline: false,
  pitlane: { samples: 1, warmup: 0 },
  cpython: { samples: 1, warmup: 0 },
} as const;

/**
 * The speech pipeline of the plan's scenario 3 as a manifest both executors run: 48 kHz stereo → 16 kHz mono →
 * 32 ms chunks → a VAD → utterances → PocketSphinx (a Python node; on a CPython worker in pitlane, in-process in
 * the reference). `vad` is FastVAD (the energy VAD both executors implement identically) for the comparison, or
 * SileroVAD (ONNX Runtime, which the reference cannot run) for pitlane's own rows.
 */
export function speechManifest(vad: 'FastVAD' | 'SileroVAD'): object {
  const vadParams =
    vad === 'FastVAD'
      ? { energy_threshold_db: -40, min_silence_duration_ms: 400 }
      : { threshold: 0.5, sampling_rate: 16000, min_silence_duration_ms: 400 };
  const nodes = [
    {
      id: 'resample',
      node_type: 'FastResampleNode',
      params: { target_rate: 16000, channels: 1, quality: 'Medium' },
    },
    { id: 'chunk', node_type: 'AudioChunkerNode', params: { chunk_size: 512 } },
    { id: 'vad', node_type: vad, params: vadParams },
    { id: 'utterances', node_type: 'AudioBufferAccumulatorNode', params: { pre_roll_ms: 500 } },
    { id: 'stt', node_type: 'PocketSphinxSTT' },
  ];
  const connections = nodes.slice(1).map((n, i) => ({ from: (nodes[i] as { id: string }).id, to: n.id }));
  return { version: 'v1', metadata: { name: `speech-${vad}` }, nodes, connections };
}

/** examples/pipelines/stream-health.yaml, read once (both executors run the file's manifest). */
function streamHealthManifest(): object {
  const file = join(packageRoot(), 'examples', 'pipelines', 'stream-health.yaml');
  return parseYaml(readFileSync(file, 'utf8')) as object;
}

/**
 * A stream-health manifest without its HealthEmitterNodes, whose events carry wall-clock times (`ts`) and judge
 * drift from the frames' arrival: what is left (the analysers' events, stamped with stream time) must be the same
 * in both executors.
 */
function withoutWallClock(manifest: object): object {
  const m = manifest as {
    nodes: { id: string; node_type: string }[];
    connections?: { from: string; to: string }[];
  };
  const dropped = new Set(m.nodes.filter((n) => n.node_type === 'HealthEmitterNode').map((n) => n.id));
  return {
    ...m,
    nodes: m.nodes.filter((n) => !dropped.has(n.id)),
    connections: (m.connections ?? []).filter((c) => !dropped.has(c.from) && !dropped.has(c.to)),
  };
}

/** The suite; `quick` trims sample counts (not the sizes the targets are stated at). */
export function pipelineScenarios(quick: boolean): PipelineScenario[] {
  const q = (full: number, fast: number): number => (quick ? fast : full);
  // pitlane runs a 100-item pipeline in ~10 µs and CPython in ~300 µs: sample counts give each side enough
  // samples for a stable median within a similar time budget.
  return [
    {
      name: 'simple',
      description: 'DataSource of 100 integers → Calculator add 5 → DataSink',
      kind: 'samples',
      manifest: chainManifest('simple', range(100), [calc('add', 5)]),
      items: 100,
      headline: true,
      pitlane: { samples: q(2000, 500), warmup: q(1000, 200) },
      cpython: { samples: q(200, 50), warmup: q(20, 5) },
    },
    {
      name: 'complex',
      description:
        '10 nodes: DataSource of 100 integers → add, multiply, pass, subtract, divide, add, pass, multiply → DataSink',
      kind: 'samples',
      manifest: chainManifest('complex', range(100), COMPLEX_STAGES),
      items: 100,
      headline: true,
      pitlane: { samples: q(2000, 500), warmup: q(1000, 200) },
      cpython: { samples: q(200, 50), warmup: q(20, 5) },
    },
    {
      name: 'text',
      description: '100 strings → TextTransform uppercase → TextTransform reverse → DataSink',
      kind: 'samples',
      manifest: chainManifest('text', { items: TEXTS }, [
        { node_type: 'TextTransform', params: { operation: 'uppercase' } },
        { node_type: 'TextTransform', params: { operation: 'reverse' } },
      ]),
      items: 100,
      headline: true,
      pitlane: { samples: q(2000, 500), warmup: q(1000, 200) },
      cpython: { samples: q(200, 50), warmup: q(20, 5) },
    },
    {
      name: 'large',
      description: 'the simple pipeline over 1000 integers',
      kind: 'samples',
      manifest: chainManifest('large', range(1000), [calc('add', 5)]),
      items: 1000,
      headline: true,
      pitlane: { samples: q(1000, 300), warmup: q(500, 100) },
      cpython: { samples: q(50, 15), warmup: q(5, 2) },
    },
    {
      name: 'simple_1e5',
      description: 'the simple pipeline over 10^5 integers (per-item cost)',
      kind: 'samples',
      manifest: chainManifest('simple_1e5', range(1e5), [calc('add', 5)]),
      items: 1e5,
      headline: false,
      pitlane: { samples: q(20, 8), warmup: q(5, 2) },
      cpython: { samples: q(3, 1), warmup: 1 },
    },
    {
      name: 'simple_1e6',
      description: 'the simple pipeline over 10^6 integers (per-item cost)',
      kind: 'samples',
      manifest: chainManifest('simple_1e6', range(1e6), [calc('add', 5)]),
      items: 1e6,
      headline: false,
      pitlane: { samples: q(5, 3), warmup: q(2, 1) },
      cpython: { samples: 1, warmup: 0 },
    },
    {
      name: 'init_10_nodes',
      description: 'read + parse + validate + initialise (+ cleanup) a 10-node pipeline, no items',
      kind: 'samples',
      mode: 'init',
      manifest: chainManifest('init', null, [
        ...COMPLEX_STAGES.slice(0, 6),
        { node_type: 'Buffer', params: { buffer_size: 8 } },
        { node_type: 'PassThrough' },
        calc('add', 1),
      ]),
      items: 0,
      headline: false,
      pitlane: { samples: q(500, 200), warmup: q(200, 50) },
      cpython: { samples: q(300, 100), warmup: q(50, 20) },
    },
    {
      name: 'concurrent_10',
      description: '10 copies of the large pipeline (1000 items each) running concurrently in one process',
      kind: 'samples',
      concurrent: 10,
      manifest: chainManifest('concurrent', range(1000), [calc('add', 5)]),
      items: 10_000,
      headline: false,
      pitlane: { samples: q(200, 60), warmup: q(50, 10) },
      cpython: { samples: q(10, 4), warmup: q(2, 1) },
    },
    {
      name: 'python_100',
      description:
        'a pure-Python calculator class (add 5) over 100 integers; pitlane native runs the Calculator node',
      kind: 'samples',
      manifest: chainManifest('python_100', range(100), [py(PY_ADD)]),
      manifestFor: { pitlane: chainManifest('python_100', range(100), [calc('add', 5)]) },
      contestants: WITH_NATIVE,
      items: 100,
      headline: false,
      pitlane: { samples: q(300, 60), warmup: q(50, 10) },
      cpython: { samples: q(100, 30), warmup: q(20, 5) },
    },
    {
      name: 'python_1e5',
      description: 'the same Python calculator over 10^5 integers (per-item cost)',
      kind: 'samples',
      manifest: chainManifest('python_1e5', range(1e5), [py(PY_ADD)]),
      manifestFor: { pitlane: chainManifest('python_1e5', range(1e5), [calc('add', 5)]) },
      contestants: WITH_NATIVE,
      items: 1e5,
      headline: false,
      pitlane: { samples: q(5, 2), warmup: 1 },
      cpython: { samples: q(3, 1), warmup: 1 },
    },
    {
      name: 'python_mixed',
      description: 'native → Python → native: 1000 integers, multiply 2, Python add 5, Filter even',
      kind: 'samples',
      manifest: chainManifest('python_mixed', range(1000), [
        calc('multiply', 2),
        py(PY_ADD),
        { node_type: 'Filter', params: { op: 'odd' } },
      ]),
      contestants: PYTHON_RUNTIMES,
      items: 1000,
      headline: false,
      pitlane: { samples: q(100, 30), warmup: q(20, 5) },
      cpython: { samples: q(30, 10), warmup: q(5, 2) },
    },
    {
      name: 'python_1000',
      description:
        'the Python calculator over 1000 integers, one pipeline (the unit of python_concurrent_10)',
      kind: 'samples',
      manifest: chainManifest('python_1000', range(1000), [py(PY_ADD)]),
      contestants: PYTHON_RUNTIMES,
      items: 1000,
      headline: false,
      pitlane: { samples: q(100, 30), warmup: q(20, 5) },
      cpython: { samples: q(30, 10), warmup: q(5, 2) },
    },
    {
      name: 'python_concurrent_10',
      description:
        '10 copies of python_1000 running concurrently in one process (does it scale past one core?)',
      kind: 'samples',
      concurrent: 10,
      manifest: chainManifest('python_concurrent', range(1000), [py(PY_ADD)]),
      contestants: PYTHON_RUNTIMES,
      items: 10_000,
      headline: false,
      pitlane: { samples: q(30, 10), warmup: q(5, 2) },
      cpython: { samples: q(10, 4), warmup: q(2, 1) },
    },
    {
      name: 'python_floats_1e4',
      description: 'data-heavy: 20 lists of 10^4 floats through a Python node that returns them reversed',
      kind: 'samples',
      manifest: chainManifest(
        'python_floats',
        {
          items: Array.from({ length: 20 }, (_, k) => Array.from({ length: 10_000 }, (_, i) => k + i * 0.5)),
        },
        [py(PY_REVERSE)],
      ),
      contestants: PYTHON_RUNTIMES,
      items: 20,
      headline: false,
      pitlane: { samples: q(20, 6), warmup: q(3, 1) },
      cpython: { samples: q(20, 6), warmup: q(3, 1) },
    },
    {
      name: 'python_bytes_1mb',
      description: 'data-heavy: 20 blobs of 1 MiB made by one Python node and measured by another',
      kind: 'samples',
      manifest: chainManifest('python_bytes', range(20), [py(PY_MAKE_BYTES), py(PY_LENGTH)]),
      contestants: PYTHON_RUNTIMES,
      items: 20,
      headline: false,
      pitlane: { samples: q(20, 6), warmup: q(3, 1) },
      cpython: { samples: q(20, 6), warmup: q(3, 1) },
    },
    {
      name: 'python_cold_start',
      description:
        '`run` of python_100 in a fresh process: spawn → first output line (includes starting Python)',
      kind: 'cold_start',
      manifest: chainManifest('python_cold', range(100), [py(PY_ADD)]),
      contestants: PYTHON_RUNTIMES,
      items: 100,
      headline: false,
      pitlane: { samples: q(5, 3), warmup: 0 },
      cpython: { samples: q(5, 3), warmup: 0 },
    },
    {
      name: 'cold_start',
      description: '`run` of the simple pipeline in a fresh process: spawn → first output line',
      kind: 'cold_start',
      manifest: chainManifest('cold', range(100), [calc('add', 5)]),
      items: 100,
      headline: false,
      pitlane: { samples: q(5, 3), warmup: 0 },
      cpython: { samples: q(5, 3), warmup: 0 },
    },
    {
      name: 'speech_48k',
      description:
        'the speech pipeline (resample 48k stereo → 16k mono, chunk, energy VAD, utterances, PocketSphinx) over 27 s of LibriVox speech: whole `run -i`, transcripts compared and scored; the reference on Debian’s python3, which has PocketSphinx and numpy',
      kind: 'media',
      manifest: speechManifest('FastVAD'),
      media: { sampleRate: 48_000, channels: 2 },
      referencePython: '/usr/bin/python3',
      ...WHOLE_RUNS,
    },
    {
      name: 'speech_48k_silero',
      description:
        'pitlane only: the same speech pipeline with Silero VAD on ONNX Runtime (the reference cannot run ONNX models)',
      kind: 'media',
      manifest: speechManifest('SileroVAD'),
      media: { sampleRate: 48_000, channels: 2 },
      contestants: ['pitlane'],
      ...WHOLE_RUNS,
    },
    {
      name: 'stream_health_live',
      description:
        'live capacity: concurrent real-time 16 kHz streams of examples/pipelines/stream-health.yaml sustained (streams staggered over the 20 ms frame; p99 latency under one frame, at most 1% of frames dropped, after a 1 s warm-up), and per-frame latency at one stream',
      kind: 'live',
      manifest: streamHealthManifest(),
      media: { sampleRate: 16_000, channels: 1, seconds: 9 },
      referencePython: '/usr/bin/python3',
      live: {
        maxStreams: q(8192, 1024),
        checkManifest: withoutWallClock(streamHealthManifest()),
        warmupS: 1,
        repeats: 3,
      },
      ...WHOLE_RUNS,
    },
    {
      name: 'stream_1e6',
      description:
        '`run` over a JSONL file of 10^6 integers → add 5 → file: whole-process wall time and peak RSS',
      kind: 'stream',
      manifest: chainManifest('stream', null, [calc('add', 5)]),
      items: 1e6,
      headline: false,
      pitlane: { samples: 1, warmup: 0 },
      cpython: { samples: 1, warmup: 0 },
    },
  ];
}
