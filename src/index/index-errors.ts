/**
 * Errors of the search index. They are plain Error subclasses, not PitlaneErrors: the index is a library
 * inside the ingest service, which decides what a failure means for its HTTP answer (a refused batch is the
 * client's fault, a dimension mismatch is the operator's).
 */

/** Base class of every error the search index raises on purpose. */
export class SearchIndexError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
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
      `the batch was refused, nothing was written; ${n} problem${n === 1 ? '' : 's'}:\n  ${shown.join('\n  ')}${more}`,
    );
    this.problems = problems;
    this.name = 'InvalidBatchError';
  }
}

/** A search or lookup with bad arguments (wrong vector length, k out of range...). */
export class InvalidQueryError extends SearchIndexError {
  constructor(message: string) {
    super(message);
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
    super(`${location}: ${message}`, options);
    this.location = location;
    this.name = 'IndexSchemaError';
  }
}

/** A call on an index that was closed. */
export class IndexClosedError extends SearchIndexError {
  constructor(location: string) {
    super(`${location}: the search index is closed`);
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
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.status = context.status ?? null;
    this.failures = context.failures ?? [];
    this.name = 'OpenSearchIndexError';
  }
}
