/**
 * The one errors module: every error pitlane raises on purpose is a PitlaneError with a stable `code`
 * (never reused), a message that says what to do, and the context a user needs. The CLI maps codes to
 * exit codes in one table (cli/exit-codes.ts); nothing else decides exit codes.
 */

/** Every error code pitlane uses, with what it means. docs/errors.md is checked against this list. */
export const ERROR_CODES = {
  PL_ERR_USAGE: 'The command line is wrong: unknown flag, missing argument or bad value.',
  PL_ERR_FILE: 'A file could not be read or written.',
  PL_ERR_OUTPUT:
    'Writing the output failed (disk full, I/O error): the run stopped; the output is incomplete and was not published.',
  PL_ERR_MANIFEST_PARSE: 'A manifest is not valid JSON or YAML.',
  PL_ERR_MANIFEST_INVALID:
    'A manifest parsed but breaks one or more rules; every problem is listed with its path.',
  PL_ERR_NODE_INIT: 'A node failed to initialise before any item was processed.',
  PL_ERR_NODE_FAILED: 'A node failed on an item (error policy `fail`).',
  PL_ERR_ITEM: 'A node rejected one item; under policy `skip` it becomes an error record in the output.',
  PL_ERR_SUITE_INVALID:
    'A benchmark suite file does not parse or breaks rules; every problem is listed with its path.',
  PL_ERR_MODELS_INVALID:
    'A model repository (models.yaml) does not parse or breaks rules; every problem is listed with its path.',
  PL_ERR_BENCH: 'A benchmark could not run or a contestant misbehaved.',
  PL_ERR_THRESHOLDS: 'A benchmark ran, but one or more of its thresholds failed.',
  PL_ERR_INTERNAL: 'A bug in pitlane: please report it with the command that caused it.',
  PL_ERR_UNREACHABLE:
    'A server pitlane was told to use (`--inference URL`, `--opensearch-url`) could not be reached.',
  PL_ERR_FEATURE_UNAVAILABLE: 'A request asked for a feature the service was started without (faces, OCR).',
  PL_ERR_VISION_MODEL:
    'A model does not fit the vision task it was given (detector, image embedder, faces, OCR).',
  PL_ERR_INDEX_BATCH_INVALID:
    'A batch sent to the search index breaks a rule of the port; nothing was written.',
  PL_ERR_INDEX_QUERY_INVALID: 'A search or lookup has bad arguments (wrong vector length, k out of range).',
  PL_ERR_INDEX_DIMENSION: 'An existing search index holds embeddings of another length than the model gives.',
  PL_ERR_INDEX_SCHEMA:
    'A file or cluster index is not a search index pitlane can use (other schema, other program).',
  PL_ERR_INDEX_CLOSED: 'A search index was used after it was closed.',
  PL_ERR_INDEX_OPENSEARCH:
    'A request to OpenSearch failed for good (after retries), or items of a bulk write failed.',
  PL_ERR_MODEL_NOT_FOUND: 'A request named a model (or a version of it) the server does not serve.',
  PL_ERR_MODEL_NOT_READY:
    'A request named a model of the repository that is not loaded now (unloaded, loading, or unloading).',
  PL_ERR_MODEL_LOAD: 'A model of the repository could not be loaded (a bad model file or configuration).',
  PL_ERR_INFERENCE_INPUT:
    "A request's tensors do not fit the model (name, datatype, shape) or its body is malformed; the message names the tensor.",
  PL_ERR_QUEUE_FULL:
    'The server is overloaded: its inference queue has no room; retry after the delay it gives.',
  PL_ERR_INPUT_TOO_LONG:
    "An input holds more tokens than the model's limit, and truncation was not asked for.",
  PL_ERR_TOO_MANY_TOKENS: 'The inputs of one request hold more tokens than the per-request limit.',
  PL_ERR_AUDIO_INPUT:
    'An audio input is not valid or cannot be decoded (not a WAV, truncated, impossible format, NaN samples).',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of every deliberate pitlane error. */
export class PitlaneError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'PitlaneError';
  }
}

/** A command-line mistake; the CLI prints it with a hint to `--help`. */
export class UsageError extends PitlaneError {
  constructor(message: string) {
    super('PL_ERR_USAGE', message);
    this.name = 'UsageError';
  }
}

/** A file that could not be read or written. */
export class FileError extends PitlaneError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('PL_ERR_FILE', `${path}: ${message}`, options);
    this.path = path;
    this.name = 'FileError';
  }
}

/** Writing a run's output failed: it stopped the run, and the output is incomplete. */
export class OutputError extends PitlaneError {
  /** The output as the user named it (`-` is stdout). */
  readonly output: string;
  /** The errno code of the failed write (ENOSPC, EIO, ...), when there was one. */
  readonly errno: string | null;
  constructor(output: string, message: string, errno: string | null, options?: { cause?: unknown }) {
    super('PL_ERR_OUTPUT', `${output === '-' ? 'stdout' : output}: ${message}`, options);
    this.output = output;
    this.errno = errno;
    this.name = 'OutputError';
  }
}

/** One thing wrong with a manifest, located by JSON path and, when known, by line and column. */
export interface ManifestProblem {
  /** JSON path of the offending value, e.g. `$.nodes[2].params.operation`. */
  readonly path: string;
  /** What is wrong and, where it helps, what would be right. */
  readonly message: string;
  /** 1-based line in the manifest file, when the problem could be located there. */
  line?: number;
  /** 1-based column in the manifest file. */
  column?: number;
}

/** A manifest that could not be parsed at all (syntax error). */
export class ManifestParseError extends PitlaneError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('PL_ERR_MANIFEST_PARSE', `${file}: ${message}`, options);
    this.file = file;
    this.name = 'ManifestParseError';
  }
}

/** A file the user wrote that breaks rules; carries every problem found, not just the first. */
export class DocumentInvalidError extends PitlaneError {
  readonly file: string;
  readonly problems: readonly ManifestProblem[];
  constructor(code: ErrorCode, file: string, what: string, problems: readonly ManifestProblem[]) {
    const n = problems.length;
    super(code, `${file}: ${n} problem${n === 1 ? '' : 's'} in the ${what}`);
    this.file = file;
    this.problems = problems;
    this.name = 'DocumentInvalidError';
  }
}

/** A manifest that breaks rules. */
export class ManifestInvalidError extends DocumentInvalidError {
  constructor(file: string, problems: readonly ManifestProblem[]) {
    super('PL_ERR_MANIFEST_INVALID', file, 'manifest', problems);
    this.name = 'ManifestInvalidError';
  }
}

/** A benchmark suite file that does not parse or breaks rules. */
export class SuiteInvalidError extends DocumentInvalidError {
  constructor(file: string, problems: readonly ManifestProblem[]) {
    super('PL_ERR_SUITE_INVALID', file, 'suite', problems);
    this.name = 'SuiteInvalidError';
  }
}

/**
 * Thrown by a node's `process` to reject one item with a user-facing message. The executor turns it (and
 * any other error a node throws) into an error record or a NodeFailedError, adding node id and item index.
 */
export class ItemError extends PitlaneError {
  /**
   * The item did not fail on its own: the run was cancelled (Ctrl-C) while it was being processed. Such an item
   * does not turn a cancelled run into a failed one.
   */
  readonly cancelled: boolean;
  constructor(message: string, options?: { cancelled?: boolean }) {
    super('PL_ERR_ITEM', message);
    this.cancelled = options?.cancelled === true;
    this.name = 'ItemError';
  }
}

/** A node that failed to initialise. */
export class NodeInitError extends PitlaneError {
  readonly nodeId: string;
  constructor(nodeId: string, nodeType: string, cause: Error) {
    super('PL_ERR_NODE_INIT', `node '${nodeId}' (${nodeType}) failed to initialise: ${cause.message}`, {
      cause,
    });
    this.nodeId = nodeId;
    this.name = 'NodeInitError';
  }
}

/** A node failed on an item under error policy `fail`: the run stopped. */
export class NodeFailedError extends PitlaneError {
  readonly nodeId: string;
  readonly nodeType: string;
  /** 0-based index of the item among the items the node received; null for a failure in `flush` or a source. */
  readonly itemIndex: number | null;
  /** The item that failed (undefined for a failure in `flush`). */
  readonly item: unknown;
  /** The node's own message, without the node context. */
  readonly detail: string;
  constructor(
    nodeId: string,
    nodeType: string,
    itemIndex: number | null,
    item: unknown,
    detail: string,
    cause?: unknown,
    /** Where a failure without an item happened: in `flush` (default) or while a source read its data. */
    phase: 'flush' | 'source' = 'flush',
  ) {
    const where =
      itemIndex !== null
        ? `on item ${itemIndex}`
        : phase === 'flush'
          ? 'at end of stream'
          : 'while reading its data';
    super('PL_ERR_NODE_FAILED', `node '${nodeId}' (${nodeType}) failed ${where}: ${detail}`, { cause });
    this.nodeId = nodeId;
    this.nodeType = nodeType;
    this.itemIndex = itemIndex;
    this.item = item;
    this.detail = detail;
    this.name = 'NodeFailedError';
  }
}

/** A benchmark that could not run as asked. */
export class BenchError extends PitlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PL_ERR_BENCH', message, options);
    this.name = 'BenchError';
  }
}

/**
 * A contestant (a service under test) that could not be started, did not become healthy, or misbehaved. The
 * message ends with the contestant's last log lines, which usually say why.
 */
export class ContestantError extends BenchError {
  /** The contestant's name as the benchmark spec gives it. */
  readonly contestant: string;
  /** What went wrong, without the contestant's name and log lines. */
  readonly detail: string;
  /** Exit code of the contestant's process if it exited by itself with one; null otherwise. */
  readonly exitCode: number | null;
  /** Signal that ended the contestant's process if one did; null otherwise. */
  readonly signal: NodeJS.Signals | null;
  /** The last lines the contestant wrote to stdout and stderr, interleaved, oldest first. */
  readonly logTail: readonly string[];
  constructor(
    contestant: string,
    detail: string,
    context: {
      readonly exitCode?: number | null;
      readonly signal?: NodeJS.Signals | null;
      readonly logTail?: readonly string[];
      readonly cause?: unknown;
    } = {},
  ) {
    const logTail = context.logTail ?? [];
    const log =
      logTail.length > 0 ? `\n  last ${logTail.length} log lines:\n    ${logTail.join('\n    ')}` : '';
    super(
      `contestant '${contestant}': ${detail}${log}`,
      context.cause === undefined ? undefined : { cause: context.cause },
    );
    this.contestant = contestant;
    this.detail = detail;
    this.exitCode = context.exitCode ?? null;
    this.signal = context.signal ?? null;
    this.logTail = logTail;
    this.name = 'ContestantError';
  }
}

/**
 * A server the user pointed pitlane at could not be reached (connection refused, unknown host, timeout): the
 * user's to fix, not a bug. The message is one line naming the flag and the URL.
 */
export class UnreachableError extends PitlaneError {
  /** The flag that gave the URL, e.g. `--inference`. */
  readonly flag: string;
  readonly url: string;
  constructor(flag: string, url: string, detail: string, options?: { cause?: unknown }) {
    super('PL_ERR_UNREACHABLE', `${flag} ${url}: cannot reach the server (${detail})`, options);
    this.flag = flag;
    this.url = url;
    this.name = 'UnreachableError';
  }
}

/** Faces or OCR asked of a service started without that model. */
export class FeatureUnavailableError extends PitlaneError {
  constructor(readonly feature: 'faces' | 'ocr') {
    super(
      'PL_ERR_FEATURE_UNAVAILABLE',
      feature === 'faces'
        ? 'enable_faces: this service has no face model (start it with --faces-model)'
        : 'enable_ocr: this service has no OCR models (start it with --ocr-det-model and --ocr-rec-model)',
    );
    this.name = 'FeatureUnavailableError';
  }
}

/** A model that does not fit what it is asked to do; names the model and what was found. */
export class VisionModelError extends PitlaneError {
  constructor(model: string, message: string) {
    super('PL_ERR_VISION_MODEL', `model '${model}': ${message}`);
    this.name = 'VisionModelError';
  }
}

/**
 * Base class of every error the search index (src/index/) raises on purpose. The ingest service decides what a
 * failure means for its HTTP answer (services/http/status.ts); the CLI, for its exit code.
 */
export class SearchIndexError extends PitlaneError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SearchIndexError';
  }
}

/** A batch that breaks a rule of the port; nothing of it was written. */
export class InvalidBatchError extends SearchIndexError {
  /** Every problem found, each naming the document (`images[3] (id 'a')...`). */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    const shown = problems.slice(0, 10);
    const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : '';
    const n = problems.length;
    super(
      'PL_ERR_INDEX_BATCH_INVALID',
      `the batch was refused, nothing was written; ${n} problem${n === 1 ? '' : 's'}:\n  ${shown.join('\n  ')}${more}`,
    );
    this.problems = problems;
    this.name = 'InvalidBatchError';
  }
}

/** A search or lookup with bad arguments (wrong vector length, k out of range...). */
export class InvalidQueryError extends SearchIndexError {
  constructor(message: string) {
    super('PL_ERR_INDEX_QUERY_INVALID', message);
    this.name = 'InvalidQueryError';
  }
}

/** An existing index built for embeddings of another length than the one asked for. */
export class IndexDimensionError extends SearchIndexError {
  /** The file or index that was opened. */
  readonly location: string;
  /** The dimension the index was created with. */
  readonly indexDimension: number;
  /** The dimension the caller asked for. */
  readonly requestedDimension: number;
  constructor(location: string, indexDimension: number, requestedDimension: number) {
    super(
      'PL_ERR_INDEX_DIMENSION',
      `${location}: this index holds ${indexDimension}-dimensional embeddings, but it was opened for dimension ` +
        `${requestedDimension}; open it with dimension ${indexDimension}, or use another index for the new model`,
    );
    this.location = location;
    this.indexDimension = indexDimension;
    this.requestedDimension = requestedDimension;
    this.name = 'IndexDimensionError';
  }
}

/** A file or cluster index that is not a search index this code can use (other schema, other program). */
export class IndexSchemaError extends SearchIndexError {
  /** The file or index that was opened. */
  readonly location: string;
  constructor(location: string, message: string, options?: { cause?: unknown }) {
    super('PL_ERR_INDEX_SCHEMA', `${location}: ${message}`, options);
    this.location = location;
    this.name = 'IndexSchemaError';
  }
}

/** A call on an index that was closed. */
export class IndexClosedError extends SearchIndexError {
  constructor(location: string) {
    super('PL_ERR_INDEX_CLOSED', `${location}: the search index is closed`);
    this.name = 'IndexClosedError';
  }
}

/** A request to OpenSearch that failed for good (after any retries), or a bulk with items that failed. */
export class OpenSearchIndexError extends SearchIndexError {
  /** HTTP status of the failed request, or of the first failed bulk item; null without one (network error). */
  readonly status: number | null;
  /** For a bulk: one line per failed item, `index/id: status type: reason`. */
  readonly failures: readonly string[];
  constructor(
    message: string,
    context: {
      readonly status?: number | null;
      readonly failures?: readonly string[];
      readonly cause?: unknown;
    } = {},
  ) {
    super(
      'PL_ERR_INDEX_OPENSEARCH',
      message,
      context.cause === undefined ? undefined : { cause: context.cause },
    );
    this.status = context.status ?? null;
    this.failures = context.failures ?? [];
    this.name = 'OpenSearchIndexError';
  }
}

/**
 * A Python node's class failed to start (src/python/): a syntax error, a missing class, an exception in
 * `__init__`/`initialize`. The message is Python's own, with the traceback of the node's code.
 */
export class PythonNodeInitError extends PitlaneError {
  constructor(
    readonly nodeId: string,
    readonly exception: { readonly type: string; readonly message: string; readonly traceback: string },
  ) {
    super('PL_ERR_NODE_INIT', `${exception.type}: ${exception.message}\n${exception.traceback}`.trimEnd());
    this.name = 'PythonNodeInitError';
  }
}

// -- The inference layer (src/inference/). The services answer them by code (services/http/status.ts).

/** Unknown model or version (HTTP 404). */
export class ModelNotFoundError extends PitlaneError {
  constructor(
    readonly model: string,
    readonly version?: string,
  ) {
    super(
      'PL_ERR_MODEL_NOT_FOUND',
      version === undefined ? `unknown model '${model}'` : `unknown version '${version}' of model '${model}'`,
    );
    this.name = 'ModelNotFoundError';
  }
}

/** A model of the repository that is not loaded now: unloaded, loading or unloading (HTTP 503). */
export class ModelNotReadyError extends PitlaneError {
  constructor(
    readonly model: string,
    readonly state: string,
    readonly reason: string,
  ) {
    super(
      'PL_ERR_MODEL_NOT_READY',
      `model '${model}' is not ready (${state}${reason === '' ? '' : `: ${reason}`}); ` +
        `load it with POST /v2/repository/models/${model}/load`,
    );
    this.name = 'ModelNotReadyError';
  }
}

/** A model of the repository failed to load (HTTP 400, as Triton answers a failed load). */
export class ModelLoadError extends PitlaneError {
  constructor(
    readonly model: string,
    cause: Error,
  ) {
    super('PL_ERR_MODEL_LOAD', `failed to load '${model}': ${cause.message}`, { cause });
    this.name = 'ModelLoadError';
  }
}

/** A request whose tensors do not fit the model, or whose body is malformed (HTTP 400). The message names the tensor. */
export class InferenceInputError extends PitlaneError {
  constructor(message: string) {
    super('PL_ERR_INFERENCE_INPUT', message);
    this.name = 'InferenceInputError';
  }
}

/** The queue is full: retry after `retryAfterMs` (HTTP 429). */
export class QueueFullError extends PitlaneError {
  constructor(
    readonly retryAfterMs: number,
    readonly queued: number,
  ) {
    super(
      'PL_ERR_QUEUE_FULL',
      `the queue is full (${queued} sequences waiting); retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
    this.name = 'QueueFullError';
  }
}

/** An input is longer than the model's limit and truncation was not asked for (HTTP 413). */
export class InputTooLongError extends PitlaneError {
  constructor(
    readonly index: number,
    readonly tokens: number,
    readonly limit: number,
  ) {
    super(
      'PL_ERR_INPUT_TOO_LONG',
      `input ${index} has ${tokens} tokens, more than the model's limit of ${limit}; shorten it or ask for truncation`,
    );
    this.name = 'InputTooLongError';
  }
}

/**
 * A request's inputs hold more tokens than it may (HTTP 422). Counted as tokenization goes, in chunks, so a
 * request far over the limit is refused after its first chunks, not after all of it.
 */
export class TooManyTokensError extends PitlaneError {
  constructor(
    /** Tokens counted when the limit was passed (the request holds at least this many). */
    readonly tokens: number,
    readonly limit: number,
  ) {
    super(
      'PL_ERR_TOO_MANY_TOKENS',
      `the inputs hold at least ${tokens} tokens, more than the limit of ${limit} per request`,
    );
    this.name = 'TooManyTokensError';
  }
}

/** Normalises anything thrown into an Error, so callers handle one shape. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`non-error thrown: ${String(thrown)}`);
  }
}

/** An audio input (a WAV file, raw PCM on stdin, a file for ffmpeg) that cannot be used, naming it and why. */
export class AudioInputError extends PitlaneError {
  /** The input as the user named it (`-` is stdin). */
  readonly source: string;
  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super('PL_ERR_AUDIO_INPUT', `${source === '-' ? 'stdin' : source}: ${message}`, options);
    this.source = source;
    this.name = 'AudioInputError';
  }
}
