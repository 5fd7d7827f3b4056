/**
 * The pitlane command line. Commands load their modules lazily so that `pitlane run` starts fast; errors
 * become exit codes in one place (reportError + exit-codes.ts).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../core/errors.js';
import { LOG_FORMATS, LOG_LEVELS } from '../services/http/log-levels.js';
import { printable } from '../core/terminal-text.js';
import type { BenchPipelinesOptions } from './bench-command.js';
import type { BenchWorkerOptions } from '../lab/kinds/pipelines/bench-worker.js';
import type { RunCommandOptions } from './run-command.js';
import type { BenchSuiteOptions } from './suite-command.js';
import type { ServeEmbedOptions } from './serve-command.js';
import type { ServeIngestOptions } from './serve-ingest-command.js';
import type { ServeModelsOptions } from './serve-models-command.js';
import type { QuantizeCommandOptions } from './quantize-command.js';
import { DEFAULT_MIN_ELEMENTS } from '../inference/onnx/quantize-options.js';
import { EXIT } from './exit-codes.js';
import { reportError } from './report-error.js';

const VERSION = '0.1.0';

function nonNegativeNumber(name: string, integer: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${name} must be a ${integer ? 'whole number' : 'number'} ≥ 0`);
    }
    return n;
  };
}

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a number > 0`);
    return n;
  };
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

/** Collects the values of a repeatable option in order (`--model a --model b`). */
function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A flag that is true alone (`--auto-truncate`) or takes true/false (`--auto-truncate false`), as TEI's. */
function booleanFlag(name: string) {
  return (value: string): boolean => {
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new InvalidArgumentError(`${name} takes true or false, got "${value}"`);
  };
}

/** TEI's names of `pitlane serve embed` settings (text-embeddings-router's flags). */
interface TeiNames {
  readonly modelId?: string;
  readonly hostname?: string;
  readonly tokenizationWorkers?: number;
}

/**
 * The options with TEI's names folded into pitlane's: --model-id is --model, --hostname is --host,
 * --tokenization-workers is --tokenizer-threads. Both names of one setting with different values: usage error.
 */
function withTeiNames(
  opts: Omit<ServeEmbedOptions, 'version'> & TeiNames,
  command: Command,
): Omit<ServeEmbedOptions, 'version'> {
  const { modelId, hostname, tokenizationWorkers, ...rest } = opts;
  const both = (tei: string, own: string, teiValue: unknown, ownValue: unknown): void => {
    if (command.getOptionValueSource(own) === 'cli' && teiValue !== ownValue) {
      throw new UsageError(
        `--${tei} and --${own.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} are one setting; give one of them`,
      );
    }
  };
  let out: Omit<ServeEmbedOptions, 'version'> = rest;
  if (modelId !== undefined) {
    if (rest.model !== undefined && !(rest.model.length === 1 && rest.model[0] === modelId)) {
      throw new UsageError('--model-id and --model are one setting; give one of them');
    }
    out = { ...out, model: [modelId] };
  }
  if (hostname !== undefined) {
    both('hostname', 'host', hostname, rest.host);
    out = { ...out, host: hostname };
  }
  if (tokenizationWorkers !== undefined) {
    both('tokenization-workers', 'tokenizerThreads', tokenizationWorkers, rest.tokenizerThreads);
    out = { ...out, tokenizerThreads: tokenizationWorkers };
  }
  return out;
}

/** `--host`, as every `serve` command takes it. */
function hostOption(): Option {
  return new Option('--host <host>', 'address to listen on').default('127.0.0.1');
}

/** `--log-level`, as every `serve` command takes it (services/http/request-log.ts). */
function logLevelOption(): Option {
  return new Option(
    '--log-level <level>',
    'least severe log line written to stderr: one line per request at info (5xx at error, health probes and /metrics at debug)',
  )
    .choices(LOG_LEVELS)
    .default('info');
}

/** `--log-format`, as every `serve` command takes it. */
function logFormatOption(): Option {
  return new Option(
    '--log-format <format>',
    'log lines as JSON, or readable (pretty); default: pretty when stderr is a terminal, else JSON (and JSON with --json)',
  ).choices(LOG_FORMATS);
}

/** `-p, --port`, as every `serve` command takes it; only the default port differs. */
function portOption(defaultPort: number): Option {
  return new Option('-p, --port <port>', 'port to listen on (0: any free port)')
    .argParser(nonNegativeNumber('--port', true))
    .default(defaultPort);
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('pitlane')
    .description('A fast runtime for ML and media pipelines and services, with a benchmark lab built in.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // commander's own usage errors get the documented code, like every other error (docs/errors.md).
      outputError: (s, write) => write(printable(s.replace(/^error: /, 'error PL_ERR_USAGE: '))),
    });

  program
    .command('run')
    .description(
      'run a pipeline manifest over a stream of JSONL items (stdin → stdout by default), or over audio (-i speech.wav)',
    )
    .argument('<manifest>', 'pipeline manifest, JSON or YAML')
    .option(
      '-i, --input <file>',
      'input: a JSONL file, a WAV file or other audio file (read as audio frames), or - for stdin (JSONL; raw PCM with --sample-rate)',
      '-',
    )
    .option(
      '-o, --output <file>',
      'output: JSONL file, or - for stdout; a .wav name takes the audio frames, a .srt name the transcripts ({text, start, end}) as subtitles (other outputs go to stdout). A file is written as FILE.partial and renamed when complete (a write error: exit 74)',
      '-',
    )
    .addOption(
      new Option(
        '--input-format <format>',
        'how -i is read: auto (by the file header or name; stdin is JSONL, or raw PCM when --sample-rate is given), jsonl, wav, pcm (raw samples), ffmpeg (any file ffmpeg decodes)',
      )
        .choices(['auto', 'jsonl', 'json', 'wav', 'pcm', 'raw-pcm', 'ffmpeg'])
        .default('auto'),
    )
    .option(
      '--sample-rate <hz>',
      'sample rate of raw PCM input (default 16000)',
      positiveInt('--sample-rate'),
    )
    .option('--channels <n>', 'interleaved channels of raw PCM input (default 1)', positiveInt('--channels'))
    .addOption(
      new Option('--pcm-format <format>', 'sample encoding of raw PCM input: f32le (RemoteMedia’s) or s16le')
        .choices(['f32le', 's16le'])
        .default('f32le'),
    )
    .option(
      '--frame-ms <ms>',
      'length of the audio frames fed to the pipeline, in ms (default 20)',
      positiveNumber('--frame-ms'),
    )
    .option(
      '--chunk-size <samples>',
      'frame length in samples per channel (RemoteMedia’s spelling; overrides --frame-ms)',
      positiveInt('--chunk-size'),
    )
    .option(
      '--realtime',
      'release audio frames at wall-clock speed, like a live source; frames the pipeline cannot take in time are dropped and counted, with a warning',
    )
    .option(
      '--warmup <seconds>',
      'with --realtime: the first SECONDS of the input warm the pipeline up (its frames are processed and written) and are left out of frame latency and frames dropped behind, as a load test leaves out its warm-up (default 0)',
      nonNegativeNumber('--warmup', false),
    )
    .option(
      '--streams <n>',
      'replay the audio input as N concurrent streams (stream ids s0..s{N-1}), released together: a load test of a live pipeline with --realtime',
      positiveInt('--streams'),
    )
    .option(
      '--threads <n>',
      'with --streams: threads the streams are split over, each running the pipeline on its share (default: one per CPU core, at most one per stream; 1 runs every stream on the main thread)',
      positiveInt('--threads'),
    )
    .option('--audio-samples', 'write the samples of audio outputs into JSONL (base64 of little-endian f32)')
    .addOption(
      new Option(
        '--wav-format <format>',
        'sample encoding of a .wav output: s16 (16-bit PCM) or f32 (32-bit float)',
      )
        .choices(['s16', 'f32'])
        .default('s16'),
    )
    .addOption(
      new Option(
        '--on-error <policy>',
        'fail: stop at the first item error; skip: write an error record and go on',
      ).choices(['fail', 'skip']),
    )
    .option(
      '--max-line-mb <mb>',
      'longest input line in MiB; a longer line becomes an error record (skip) or stops the run (fail)',
      positiveNumber('--max-line-mb'),
      256,
    )
    .option('--strict', 'unknown manifest fields are errors, not warnings')
    .option('--stats', 'print per-node counters and timings to stderr when done')
    .option('--json-stats', 'print per-node counters and timings to stderr as one JSON line')
    .addOption(
      new Option('--python-runtime <runtime>', 'run Python nodes whose hint is auto on this runtime').choices(
        ['cpython', 'pyodide'],
      ),
    )
    .action(async (file: string, opts: RunCommandOptions & { input: string; output: string }) => {
      const { runCommand } = await import('./run-command.js');
      setExit(await runCommand(file, opts));
    });

  program
    .command('validate')
    .description(
      'check a manifest or a models.yaml and list every problem with its path, line and column (exit 2 if any)',
    )
    .argument('<manifest>', 'pipeline manifest, or model repository (models.yaml), JSON or YAML')
    .option('--json', 'print the result as JSON on stdout (problems and warnings listed apart)')
    .option('--strict', 'unknown fields are errors, not warnings')
    .action(async (file: string, opts: { json?: boolean; strict?: boolean }) => {
      const { validateCommand } = await import('./validate-command.js');
      setExit(await validateCommand(file, opts));
    });

  program
    .command('nodes')
    .description('list the built-in node types with their aliases and params')
    .option('--json', 'print the params JSON Schema of each type')
    .action(async (opts: { json?: boolean }) => {
      const { nodesCommand } = await import('./nodes-command.js');
      setExit(nodesCommand(opts));
    });

  program
    .command('bench')
    .description(
      'run a benchmark suite: a suite file (YAML/JSON: contestants, workloads, scenarios; or kind: ingest), "pipelines" (built in), or "default" (pipelines, embeddings and ingest, one report: what npm start runs)',
    )
    .argument('<suite>', 'a suite file, pipelines, or default')
    .option('--out <dir>', 'folder for results, comparison and reports', 'reports')
    .option('--only <scenarios>', 'comma-separated scenario names to run (default: suite names)')
    .option(
      '--repeats <n>',
      'interleaved repeats per scenario (overrides the suite)',
      positiveInt('--repeats'),
    )
    .option(
      '--cold-starts <n>',
      'suite files: fresh processes per contestant for cold start (0: skip)',
      nonNegativeNumber('--cold-starts', true),
    )
    .option('--json', 'print the comparison JSON on stdout instead of the table')
    .option('--verbose', "suite files: show the contestants' own output")
    .option(
      '--quick',
      'a fast look, not for quoting: pipelines: fewer repeats and samples (same sizes); suite files: a tenth of the requests and durations, one repeat',
    )
    .option('--python <path>', 'pipelines: Python interpreter for the reference executor', 'python3')
    .option(
      '--no-ceilings',
      "suite files: skip the suite's ceilings (raw-engine limits measured after the contestants)",
    )
    .option(
      '--scenarios <file>',
      "http suite files: take the scenarios from this benchmark.yaml (the seed's list of {name, concurrency, num_requests}) instead of the suite's",
    )
    .option(
      '--seed-sizes',
      'http suite files with stability windows: run closed-loop scenarios for their num_requests as written (the seed sizes) instead of until stable',
    )
    .option('--full', 'default: run every suite at full size (about 1.5 hours) instead of its quick size')
    .action(async (suite: string, opts: BenchPipelinesOptions & BenchSuiteOptions & { full?: boolean }) => {
      if (suite === 'default' && opts.scenarios !== undefined) {
        throw new UsageError('--scenarios applies to an http suite file, not to the default suite');
      }
      if ((suite === 'default' || suite === 'pipelines') && opts.seedSizes === true) {
        throw new UsageError(`--seed-sizes applies to an http suite file, not to the ${suite} suite`);
      }
      if (suite === 'default') {
        const { benchDefaultCommand } = await import('./default-bench-command.js');
        setExit(
          await benchDefaultCommand({
            out: opts.out,
            python: opts.python,
            ...(opts.full === true ? { full: true } : {}),
            ...(opts.only !== undefined ? { only: opts.only } : {}),
            ...(opts.verbose === true ? { verbose: true } : {}),
          }),
        );
        return;
      }
      if (suite === 'pipelines') {
        const { benchPipelinesCommand } = await import('./bench-command.js');
        setExit(await benchPipelinesCommand(opts));
        return;
      }
      if (!/\.(ya?ml|json)$/i.test(suite)) {
        throw new UsageError(
          `'${suite}' is neither a suite file (.yaml, .yml, .json) nor a built-in suite ('pipelines', 'default')`,
        );
      }
      const { benchSuiteCommand } = await import('./suite-command.js');
      setExit(await benchSuiteCommand(suite, opts));
    });

  program
    .command('compare')
    .description(
      'compare two results files of any suite kind (pipelines, http, ingest; <out>/<suite>/results/.../<contestant>.json): ratios with intervals, memory',
    )
    .argument('<baseline>', 'results file of the baseline')
    .argument('<contestant>', 'results file to compare with it')
    .option('--json', 'print the comparison JSON')
    .option('-o, --output <file>', 'also write a report (.html or .md)')
    .action(async (a: string, b: string, opts: { json?: boolean; output?: string }) => {
      const { compareCommand } = await import('./compare-command.js');
      setExit(await compareCommand(a, b, opts));
    });

  program
    .command('report')
    .description('re-render the report of a bench run from its folder (report.json)')
    .argument('<dir>', 'the folder a bench run wrote, e.g. reports/echo')
    .option('-o, --output <file>', 'output file (.html or .md)', undefined)
    .action(async (dir: string, opts: { output?: string }) => {
      const { reportCommand } = await import('./suite-command.js');
      setExit(await reportCommand(dir, opts));
    });

  program
    .command('quantize')
    .description(
      "dynamic int8 quantisation of an ONNX model: each MatMul/Gemm whose weight is a constant becomes ONNX Runtime's DynamicQuantizeMatMul (int8 weights, one scale per output column); everything else is copied",
    )
    .argument('<input>', 'the FP32 ONNX model (weights inside the file, not external data)')
    .argument('<output>', 'where to write the int8 model (may be the input)')
    .option(
      '--min-elements <n>',
      'keep weights with fewer elements than this in FP32 (small products gain little from int8)',
      nonNegativeNumber('--min-elements', true),
      DEFAULT_MIN_ELEMENTS,
    )
    .option(
      '--exclude <node>',
      'name of a MatMul/Gemm node to keep in FP32 (repeat for more; an unknown name is an error)',
      repeatable,
    )
    .option(
      '--json',
      'print the summary as JSON: nodes quantised and kept (with why), bytes before and after',
    )
    .action(async (input: string, output: string, opts: QuantizeCommandOptions) => {
      const { quantizeCommand } = await import('./quantize-command.js');
      setExit(await quantizeCommand(input, output, opts));
    });

  const serve = program
    .command('serve')
    .description(
      'run a service: embed (text embeddings), models (KServe v2 model server), ingest (photo ingest)',
    );
  serve
    .command('embed')
    .description(
      'text-embedding server on ONNX Runtime / TF.js: TEI (/embed, /tokenize, /info) and OpenAI (/v1/embeddings) APIs, /health, /metrics',
    )
    .option('--models <file>', 'model repository (default ./models.yaml, else the bundled models)')
    .option(
      '--model <id>',
      'serve only this model (repeatable; the first is the default); default: every model in the file',
      repeatable,
    )
    .addOption(hostOption())
    .addOption(portOption(8080))
    .option(
      '--tokenizer-threads <n>',
      'worker threads for tokenization (0: on the event loop)',
      nonNegativeNumber('--tokenizer-threads', true),
      1,
    )
    .option(
      '--intra-op-threads <n>',
      "ONNX Runtime threads per operator, for every model (overrides models.yaml's threads.intra_op)",
      positiveInt('--intra-op-threads'),
    )
    .option(
      '--max-body-mb <mb>',
      'largest request body in MiB (larger: 413, while it is read); TEI allows 2 MB',
      nonNegativeNumber('--max-body-mb', false),
      2,
    )
    .option(
      '--max-client-batch-size <n>',
      'most inputs in one request (more: 422 on /embed and /tokenize, 400 on /v1/embeddings, before tokenizing); as TEI',
      positiveInt('--max-client-batch-size'),
      32,
    )
    .option(
      '--max-request-tokens <n>',
      "most tokens of all inputs of one request, after truncation (more: 422 / 400, counted as they are tokenized); the default is TEI's --max-batch-tokens default",
      positiveInt('--max-request-tokens'),
      16384,
    )
    .option(
      '--max-concurrent-requests <n>',
      'most POST requests in flight at once (more: 429 + Retry-After, before the body is read); with --max-body-mb it bounds memory',
      positiveInt('--max-concurrent-requests'),
      64,
    )
    .option(
      '--auto-truncate [bool]',
      'cut inputs longer than the model\'s limit when a request does not say ("truncate" absent); default false: 413. As TEI\'s flag: --auto-truncate alone means true',
      booleanFlag('--auto-truncate'),
      false,
    )
    .option(
      '--max-batch-tokens <n>',
      "TEI's name: most tokens in one batch of the model (overrides models.yaml's batching.max_batch_tokens; at least the model's max_sequence_length)",
      positiveInt('--max-batch-tokens'),
    )
    .option(
      '--max-batch-requests <n>',
      "TEI's name: most inputs in one batch of the model (overrides models.yaml's batching.max_batch_size)",
      positiveInt('--max-batch-requests'),
    )
    .option('--model-id <id>', "TEI's name for --model (one model)")
    .option(
      '--served-model-name <name>',
      "serve the one model under this name (requests' `model`, /v1/models, /info and answers), as TEI and vLLM do; default its models.yaml id",
    )
    .option('--hostname <host>', "TEI's name for --host")
    .option(
      '--tokenization-workers <n>',
      "TEI's name for --tokenizer-threads",
      nonNegativeNumber('--tokenization-workers', true),
    )
    .option('--json', 'print one JSON line on stdout when ready (url, models); log lines on stderr are JSON')
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .action(async (opts: Omit<ServeEmbedOptions, 'version'> & TeiNames, command: Command) => {
      const { serveEmbedCommand } = await import('./serve-command.js');
      setExit(await serveEmbedCommand({ ...withTeiNames(opts, command), version: VERSION }));
    });

  serve
    .command('models')
    .description(
      'KServe v2 / Triton-protocol model server over HTTP (JSON and binary tensors) and gRPC, with dynamic batching, for the models of a model repository',
    )
    .option('--models <file>', 'model repository (default ./models.yaml, else the bundled models)')
    .option(
      '--model <id>',
      'load only this model at start (repeatable); default: every model in the file. The others are listed by POST /v2/repository/index as UNAVAILABLE and can be loaded with POST /v2/repository/models/{m}/load',
      repeatable,
    )
    .addOption(hostOption())
    .addOption(portOption(8000))
    .option(
      '--max-body-mb <mb>',
      'largest request body in MiB, after decompression (larger: 413, as soon as it is known)',
      nonNegativeNumber('--max-body-mb', false),
      64,
    )
    .option(
      '--max-inflight-mb <mb>',
      'most request body MiB of all requests in flight together (more: 429 + Retry-After, before the body is read); bounds memory; at least --max-body-mb',
      nonNegativeNumber('--max-inflight-mb', false),
      256,
    )
    .option(
      '--grpc-port <port>',
      'port of the KServe v2 gRPC endpoint (inference.GRPCInferenceService, as Triton serves it); 0: no gRPC (default: 8001, or any free port when --port is 0)',
      nonNegativeNumber('--grpc-port', true),
    )
    .option('--grpc-host <host>', 'address the gRPC endpoint listens on (default: --host)')
    .option(
      '--json',
      'print one JSON line on stdout when ready (url, grpc_url, models); log lines on stderr are JSON',
    )
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .action(async (opts: Omit<ServeModelsOptions, 'version'>) => {
      const { serveModelsCommand } = await import('./serve-models-command.js');
      setExit(await serveModelsCommand({ ...opts, version: VERSION }));
    });

  serve
    .command('ingest')
    .description(
      'photo-ingest service: imohash duplicates, detection, image embeddings, near duplicates, faces, OCR, durable index, search',
    )
    .option(
      '--models <file>',
      'model repository for in-process inference (default ./models.yaml, else the bundled models)',
    )
    .option(
      '--inference <url>',
      'run inference on this KServe v2 server (pitlane serve models, or Triton) instead of in-process: http://host:port (HTTP, binary tensors) or grpc://host:port (gRPC, e.g. port 8001)',
    )
    .option('--detector <model>', 'COCO detector (an SSD graph or a YOLO export)', 'coco-ssd')
    .option('--embedder <model>', 'image-embedding model (takes the centre crop)', 'mobilenetv2-coco-embed')
    .option('--faces-model <model>', 'BlazeFace model for enable_faces', 'blazeface-256')
    .option('--ocr-det-model <model>', 'PaddleOCR text detector for enable_ocr', 'ppocr-det')
    .option('--ocr-rec-model <model>', 'PaddleOCR text recogniser for enable_ocr', 'ppocr-rec')
    .option('--no-faces', 'do not load the face model (enable_faces is then refused)')
    .option('--no-ocr', 'do not load the OCR models (enable_ocr is then refused)')
    .option('--db <file>', 'SQLite index file (WAL + sqlite-vec), created when missing', 'data/ingest.db')
    .option('--opensearch-url <url>', 'index into this OpenSearch cluster (k-NN) instead of SQLite')
    .option(
      '--root <dir>',
      'accept server-side paths ({"paths": [...]}) under this folder (repeatable); none: paths are refused',
      repeatable,
    )
    .option(
      '--near-duplicate-threshold <cosine>',
      'cosine similarity at or above which an image is a near duplicate of an indexed one',
      nonNegativeNumber('--near-duplicate-threshold', false),
      0.98,
    )
    .option('--max-batch <n>', 'most images in one request (more: 413)', positiveInt('--max-batch'), 256)
    .option(
      '--max-file-mb <mb>',
      'largest image file in MiB, uploaded or server-side (larger: that image fails with reason too-large; the rest of the batch is indexed)',
      nonNegativeNumber('--max-file-mb', false),
      50,
    )
    .option(
      '--max-request-mb <mb>',
      'largest multipart request body in MiB (larger: 413, nothing processed); uploads are spooled to the temp folder, not memory',
      nonNegativeNumber('--max-request-mb', false),
      2048,
    )
    .option(
      '--max-megapixels <mp>',
      'largest image decoded, in megapixels (larger: that image fails, without decoding: decompression bombs)',
      nonNegativeNumber('--max-megapixels', false),
      50,
    )
    .option(
      '--decode-concurrency <n>',
      'images decoded at the same time (bounds memory)',
      positiveInt('--decode-concurrency'),
      4,
    )
    .option(
      '--max-in-flight <n>',
      'images between decode and the models’ answers at the same time, across requests (bounds memory; enough to keep the model server busy)',
      positiveInt('--max-in-flight'),
      8,
    )
    .addOption(hostOption())
    .addOption(portOption(8090))
    .option('--json', 'print one JSON line on stdout when ready (url); log lines on stderr are JSON')
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .action(async (opts: Omit<ServeIngestOptions, 'version'>) => {
      const { serveIngestCommand } = await import('./serve-ingest-command.js');
      setExit(await serveIngestCommand({ ...opts, version: VERSION }));
    });

  // Go-style flags (-dir D -workers 16): parsed by go-flags.ts, never by commander (see main()); listed here
  // for `pitlane --help`.
  program
    .command('ingest-bench')
    .description(
      'batch-ingest load tool, flag-compatible with the Go tool: -dir D -workers 16 -batch 64 -queue 1024 -report 10 -faces=false -ocr=false -port P (-help for all flags)',
    )
    .helpOption(false);

  program
    .command('bench-worker', { hidden: true })
    .description('internal: runs benchmark samples of one scenario in a fresh process and prints JSON')
    .argument('<manifest>')
    .requiredOption('--samples <n>', 'measured samples', positiveInt('--samples'))
    .option('--warmup <n>', 'warm-up samples', nonNegativeNumber('--warmup', true), 0)
    .option('--warmup-ms <ms>', 'warm up for at least this long', nonNegativeNumber('--warmup-ms', false), 0)
    .addOption(new Option('--mode <mode>').choices(['run', 'init']).default('run'))
    .option('--concurrent <k>', 'pipelines run concurrently per sample', positiveInt('--concurrent'), 1)
    .option('--input <file>', 'JSONL input, read into memory before timing')
    .addOption(new Option('--python-runtime <runtime>').choices(['cpython', 'pyodide']))
    .action(async (file: string, opts: BenchWorkerOptions) => {
      const { benchWorker } = await import('../lab/kinds/pipelines/bench-worker.js');
      setExit(await benchWorker(file, opts));
    });

  return program;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    if (argv[0] === 'ingest-bench') {
      const { ingestBenchCommand } = await import('./ingest-bench-command.js');
      return await ingestBenchCommand(argv.slice(1));
    }
    const first = argv[0];
    if (first !== undefined && !first.startsWith('-') && first !== 'help') {
      // An unknown command is an error even with --help (commander would print the main help and exit 0).
      const known = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
      if (!known.includes(first)) {
        const { closestName } = await import('../core/config-document.js');
        const hint = closestName(first, known);
        throw new UsageError(
          `unknown command '${first}'${hint !== undefined ? ` (did you mean '${hint}'?)` : ''}`,
        );
      }
    }
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? EXIT.OK : EXIT.INVALID_INPUT;
    }
    return reportError(e);
  }
}
