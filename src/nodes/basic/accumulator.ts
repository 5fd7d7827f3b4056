/** Accumulator: a stateful running aggregate; outputs the value over all items so far after each item. */
import { Type, type Static } from '@sinclair/typebox';
import { ItemError } from '../../core/errors.js';
import { jsonTypeOf } from '../../core/json.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';

export const ACCUMULATOR_OPERATIONS = ['sum', 'count', 'mean', 'min', 'max'] as const;

const Params = Type.Object(
  {
    operation: Type.Union(
      ACCUMULATOR_OPERATIONS.map((op) => Type.Literal(op)),
      { description: 'The aggregate.' },
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

function needNumber(x: unknown): number {
  if (typeof x !== 'number') throw new ItemError(`expected a number, got ${jsonTypeOf(x)}`);
  return x;
}

export const Accumulator = defineNodeType<Params>({
  name: 'Accumulator',
  aliases: ['AccumulatorNode'],
  role: 'transform',
  description: 'Running sum, count, mean, min or max over the items so far.',
  params: Params,
  create: ({ params }): PipelineNode => {
    let sum = 0;
    let count = 0;
    let min = Infinity;
    let max = -Infinity;
    switch (params.operation) {
      case 'count':
        return { process: () => ++count };
      case 'sum':
        return { process: (x) => (sum += needNumber(x)) };
      case 'mean':
        return {
          process: (x) => {
            sum += needNumber(x);
            return sum / ++count;
          },
        };
      case 'min':
        return { process: (x) => (min = Math.min(min, needNumber(x))) };
      case 'max':
        return { process: (x) => (max = Math.max(max, needNumber(x))) };
    }
  },
});
