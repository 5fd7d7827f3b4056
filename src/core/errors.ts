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
