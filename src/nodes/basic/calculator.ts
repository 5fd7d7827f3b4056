/**
 * Calculator: one arithmetic operation with a constant operand, on IEEE-754 doubles. Without params it is
 * RemoteMedia's CalculatorNode (crates/core/src/nodes/calculator.rs): each item is a request
 * `{"operation": "add", "operands": [a, b]}` (add, subtract, multiply or divide) and the output is
 * `{"result": a op b, "operation": "add", "operands": [a, b]}`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ItemError } from '../../core/errors.js';
import { jsonTypeOf } from '../../core/json.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { wrongItemType } from './item-types.js';
import { oneOf } from './operation-param.js';

export const CALCULATOR_OPERATIONS = ['add', 'subtract', 'multiply', 'divide', 'power', 'modulo'] as const;

/** The operations of RemoteMedia's item form. */
export const REQUEST_OPERATIONS = ['add', 'subtract', 'multiply', 'divide'] as const;

const Params = Type.Object(
  {
    operation: Type.Optional(
      oneOf(
        CALCULATOR_OPERATIONS,
        'The operation: x <op> operand. Without operation and operand, items are RemoteMedia requests {operation, operands: [a, b]}.',
      ),
    ),
    operand: Type.Optional(Type.Number({ description: 'The constant right-hand side (with operation).' })),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;
type Operation = (typeof CALCULATOR_OPERATIONS)[number];

function notNumber(x: unknown): ItemError {
  return wrongItemType('a number', x);
}
function notFinite(): ItemError {
  return new ItemError('result is not a finite number');
}

/** One specialised `process` per operation, so the hot path has no switch. */
function makeProcess(operation: Operation, k: number): (x: unknown) => number {
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
  description:
    'Applies an arithmetic operation with a constant operand to numeric items; without params, answers RemoteMedia calculator requests {operation, operands: [a, b]} with {result, operation, operands}.',
  params: Params,
  check: (p) => {
    if (p.operation !== undefined && p.operand === undefined)
      return [{ path: '.operand', message: 'required' }];
    if (p.operation === undefined && p.operand !== undefined)
      return [{ path: '.operation', message: 'required' }];
    return [];
  },
  create: ({ params }): PipelineNode => ({
    process:
      params.operation !== undefined && params.operand !== undefined
        ? makeProcess(params.operation, params.operand)
        : calculateRequest,
  }),
});

/** RemoteMedia's item form: `{operation, operands: [a, b]}` → `{result, operation, operands}`. */
function calculateRequest(item: unknown): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw wrongItemType('an object {"operation", "operands": [a, b]} (Calculator has no params)', item);
  }
  const { operation, operands } = item as Record<string, unknown>;
  if (typeof operation !== 'string')
    throw new ItemError("missing 'operation' (add, subtract, multiply, divide)");
  if (!(REQUEST_OPERATIONS as readonly string[]).includes(operation)) {
    throw new ItemError(
      `unknown operation ${JSON.stringify(operation)}: expected add, subtract, multiply or divide`,
    );
  }
  if (!Array.isArray(operands)) throw new ItemError("missing 'operands' array: expected [number, number]");
  if (operands.length !== 2) throw new ItemError(`expected 2 operands, got ${operands.length}`);
  const [a, b] = operands as unknown[];
  if (typeof a !== 'number') throw new ItemError(`first operand must be a number, got ${jsonTypeOf(a)}`);
  if (typeof b !== 'number') throw new ItemError(`second operand must be a number, got ${jsonTypeOf(b)}`);
  if (operation === 'divide' && b === 0) throw new ItemError('division by zero');
  const result =
    operation === 'add' ? a + b : operation === 'subtract' ? a - b : operation === 'multiply' ? a * b : a / b;
  if (!Number.isFinite(result)) throw notFinite();
  return { result, operation, operands: [a, b] };
}
