/** Calculator: one arithmetic operation with a constant operand, on IEEE-754 doubles. */
import { Type, type Static } from '@sinclair/typebox';
import { ItemError } from '../../core/errors.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { wrongItemType } from './item-types.js';
import { oneOf } from './operation-param.js';

export const CALCULATOR_OPERATIONS = ['add', 'subtract', 'multiply', 'divide', 'power', 'modulo'] as const;

const Params = Type.Object(
  {
    operation: oneOf(CALCULATOR_OPERATIONS, 'The operation: x <op> operand.'),
    operand: Type.Number({ description: 'The constant right-hand side.' }),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

function notNumber(x: unknown): ItemError {
  return wrongItemType('a number', x);
}
function notFinite(): ItemError {
  return new ItemError('result is not a finite number');
}

/** One specialised `process` per operation, so the hot path has no switch. */
function makeProcess(operation: Params['operation'], k: number): (x: unknown) => number {
  switch (operation) {
    case 'add':
      return (x) => {
        if (typeof x !== 'number') throw notNumber(x);
        const r = x + k;
        if (!Number.isFinite(r)) throw notFinite();
        return r;
      };
    case 'subtract':
      return (x) => {
        if (typeof x !== 'number') throw notNumber(x);
        const r = x - k;
        if (!Number.isFinite(r)) throw notFinite();
        return r;
      };
    case 'multiply':
      return (x) => {
        if (typeof x !== 'number') throw notNumber(x);
        const r = x * k;
        if (!Number.isFinite(r)) throw notFinite();
        return r;
      };
    case 'divide':
      return (x) => {
        if (typeof x !== 'number') throw notNumber(x);
        if (k === 0) throw new ItemError('division by zero');
        const r = x / k;
        if (!Number.isFinite(r)) throw notFinite();
        return r;
      };
    case 'power':
      return (x) => {
        if (typeof x !== 'number') throw notNumber(x);
        const r = x ** k;
        if (!Number.isFinite(r)) throw notFinite();
        return r;
      };
    case 'modulo':
      return (x) => {
        if (typeof x !== 'number') throw notNumber(x);
        if (k === 0) throw new ItemError('modulo by zero');
        const r = x % k;
        if (!Number.isFinite(r)) throw notFinite();
        return r;
      };
  }
}

export const Calculator = defineNodeType<Params>({
  name: 'Calculator',
  aliases: ['CalculatorNode'],
  role: 'transform',
  description: 'Applies an arithmetic operation with a constant operand to numeric items.',
  params: Params,
  create: ({ params }): PipelineNode => ({ process: makeProcess(params.operation, params.operand) }),
});
