/**
 * The one table from errors to exit codes (documented in README "Exit codes"). Only the CLI decides exit
 * codes; everything below it returns values or throws PitlaneErrors with codes.
 */
import type { ErrorCode } from '../core/errors.js';

export const EXIT = Object.freeze({
  /** Done. */
  OK: 0,
  /** The pipeline failed: a node failed on an item (policy fail) or could not initialise. */
  PIPELINE_FAILED: 1,
  /**
   * The input is wrong: usage, unreadable file, manifest that does not parse or validate, a server named on the
   * command line that cannot be reached, a model or an index that does not fit.
   */
  INVALID_INPUT: 2,
  /** A benchmark could not run, or a contestant failed or gave wrong answers. */
  BENCH_FAILED: 3,
  /** A benchmark ran, but thresholds failed. */
  THRESHOLDS_FAILED: 4,
  /** A bug in pitlane. */
  INTERNAL: 70,
  /** The output could not be written (disk full, I/O error): sysexits' EX_IOERR. */
  OUTPUT_FAILED: 74,
  /** A server was overloaded and asked to retry later: sysexits' EX_TEMPFAIL. */
  TRY_AGAIN: 75,
  /** Stopped by Ctrl-C (SIGINT). */
  INTERRUPTED: 130,
  /** The reader of the output closed it (`| head`): stopped quietly, as Unix tools killed by SIGPIPE (128 + 13). */
  OUTPUT_CLOSED: 141,
});

const BY_CODE: Readonly<Record<ErrorCode, number>> = {
  PL_ERR_USAGE: EXIT.INVALID_INPUT,
  PL_ERR_FILE: EXIT.INVALID_INPUT,
  PL_ERR_OUTPUT: EXIT.OUTPUT_FAILED,
  PL_ERR_MANIFEST_PARSE: EXIT.INVALID_INPUT,
  PL_ERR_MANIFEST_INVALID: EXIT.INVALID_INPUT,
  PL_ERR_NODE_INIT: EXIT.PIPELINE_FAILED,
  PL_ERR_NODE_FAILED: EXIT.PIPELINE_FAILED,
  PL_ERR_ITEM: EXIT.PIPELINE_FAILED,
  PL_ERR_SUITE_INVALID: EXIT.INVALID_INPUT,
  PL_ERR_MODELS_INVALID: EXIT.INVALID_INPUT,
  PL_ERR_BENCH: EXIT.BENCH_FAILED,
  PL_ERR_THRESHOLDS: EXIT.THRESHOLDS_FAILED,
  PL_ERR_INTERNAL: EXIT.INTERNAL,
  PL_ERR_UNREACHABLE: EXIT.INVALID_INPUT,
  PL_ERR_FEATURE_UNAVAILABLE: EXIT.INVALID_INPUT,
  PL_ERR_VISION_MODEL: EXIT.INVALID_INPUT,
  PL_ERR_INDEX_BATCH_INVALID: EXIT.INTERNAL,
  PL_ERR_INDEX_QUERY_INVALID: EXIT.INVALID_INPUT,
  PL_ERR_INDEX_DIMENSION: EXIT.INVALID_INPUT,
  PL_ERR_INDEX_SCHEMA: EXIT.INVALID_INPUT,
  PL_ERR_INDEX_CLOSED: EXIT.INTERNAL,
  PL_ERR_INDEX_OPENSEARCH: EXIT.INVALID_INPUT,
  PL_ERR_MODEL_NOT_FOUND: EXIT.INVALID_INPUT,
  PL_ERR_MODEL_NOT_READY: EXIT.TRY_AGAIN,
  PL_ERR_MODEL_LOAD: EXIT.INVALID_INPUT,
  PL_ERR_INFERENCE_INPUT: EXIT.INVALID_INPUT,
  PL_ERR_QUEUE_FULL: EXIT.TRY_AGAIN,
  PL_ERR_INPUT_TOO_LONG: EXIT.INVALID_INPUT,
  PL_ERR_TOO_MANY_TOKENS: EXIT.INVALID_INPUT,
  PL_ERR_AUDIO_INPUT: EXIT.INVALID_INPUT,
};

/** Exit code for an error code. */
export function exitCodeFor(code: ErrorCode): number {
  return BY_CODE[code];
}

/** Exit code of a service stopped by a signal: Ctrl-C (SIGINT) is an interruption, SIGTERM a normal stop. */
export function exitCodeForStop(signal: 'SIGTERM' | 'SIGINT'): number {
  return signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.OK;
}
