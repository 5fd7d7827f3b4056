/**
 * DataSource: where items enter a pipeline — a literal `items` array, a numeric `range`, a JSONL `file`, or
 * (without params) the pipeline's input stream.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ItemError, toError } from '../../core/errors.js';
import { JSONL_READ_CHUNK_BYTES, readJsonl } from '../../pipeline/jsonl.js';
import { defineNodeType, type SourceNode } from '../../pipeline/node.js';

const Params = Type.Object(
  {
    items: Type.Optional(Type.Array(Type.Unknown(), { description: 'Items to emit, in order.' })),
    range: Type.Optional(
      Type.Object(
        {
          start: Type.Optional(Type.Number({ description: 'First value (default 0).' })),
          stop: Type.Number({ description: 'Values stay below stop (above it for a negative step).' }),
          step: Type.Optional(Type.Number({ description: 'Increment (default 1, not 0).' })),
        },
        { additionalProperties: false, description: 'Emit start, start+step, ... (each start + i*step).' },
      ),
    ),
    file: Type.Optional(Type.String({ minLength: 1, description: 'JSONL file, relative to the manifest.' })),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** Values of a range, computed as start + i*step (no accumulated rounding). */
function* rangeValues(start: number, stop: number, step: number): Generator<number> {
  for (let i = 0; ; i++) {
    const v = start + i * step;
    if (step > 0 ? v >= stop : v <= stop) return;
    yield v;
  }
}

/** The same values as an array (the executor iterates arrays fastest). */
function rangeArray(start: number, stop: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; ; i++) {
    const v = start + i * step;
    if (step > 0 ? v >= stop : v <= stop) return out;
    out.push(v);
  }
}

/** The items of a JSONL file; a file that cannot be read is an item error naming it. */
async function* readFileItems(file: string, path: string, signal: AbortSignal): AsyncGenerator {
  try {
    yield* readJsonl(createReadStream(path, { highWaterMark: JSONL_READ_CHUNK_BYTES }), signal);
  } catch (e) {
    const err = toError(e) as NodeJS.ErrnoException;
    const reason =
      err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a folder' : err.message;
    throw new ItemError(`cannot read file '${file}': ${reason}`);
  }
}

export const DataSource = defineNodeType<Params>({
  name: 'DataSource',
  aliases: ['DataSourceNode'],
  role: 'source',
  description: 'Emits items from `items`, a `range`, a JSONL `file`, or (without params) the input stream.',
  params: Params,
  check: (p) => {
    const given = (['items', 'range', 'file'] as const).filter((k) => p[k] !== undefined);
    const problems = [];
    if (given.length > 1)
      problems.push({
        path: '',
        message: `give at most one of items, range, file (got ${given.join(', ')})`,
      });
    if (p.range?.step === 0) problems.push({ path: '.range.step', message: 'must not be 0' });
    return problems;
  },
  create: (ctx): SourceNode => {
    const { params, baseDir } = ctx;
    if (params.items !== undefined) {
      const items = params.items;
      return { readsInput: false, items: () => items };
    }
    if (params.range !== undefined) {
      const { start = 0, stop, step = 1 } = params.range;
      // Materialise modest ranges: array iteration is the executor's fastest path.
      const count = Math.ceil((stop - start) / step);
      return {
        readsInput: false,
        items: () => (count <= 1 << 20 ? rangeArray(start, stop, step) : rangeValues(start, stop, step)),
      };
    }
    if (params.file !== undefined) {
      const path = resolve(baseDir, params.file);
      const file = params.file;
      return { readsInput: false, items: () => readFileItems(file, path, ctx.signal) };
    }
    return { readsInput: true, items: (input) => input ?? [] };
  },
});
