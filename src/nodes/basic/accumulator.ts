/** Accumulator: a stateful running aggregate; outputs the value over all items so far after each item. */
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { needNumber } from './item-types.js';
import { oneOf } from './operation-param.js';

export const ACCUMULATOR_OPERATIONS = ['sum', 'count', 'mean', 'min', 'max'] as const;

const Params = Type.Object(
  {
    operation: oneOf(ACCUMULATOR_OPERATIONS, 'The aggregate.'),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

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
