/** Filter: keeps the items for which a test holds, drops the others. */
import { Type, type Static } from '@sinclair/typebox';
import { ItemError } from '../../core/errors.js';
import { jsonEqual, jsonTypeOf } from '../../core/json.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { needNumber, wrongItemType } from './item-types.js';
import { oneOf } from './operation-param.js';

export const FILTER_OPS = ['gt', 'ge', 'lt', 'le', 'eq', 'ne', 'even', 'odd', 'contains'] as const;
type Op = (typeof FILTER_OPS)[number];

const Params = Type.Object(
  {
    op: oneOf(FILTER_OPS, 'The test.'),
    value: Type.Optional(Type.Unknown({ description: 'Right-hand side (not used by even/odd).' })),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

const NUMERIC: readonly Op[] = ['gt', 'ge', 'lt', 'le'];

function makeTest(op: Op, value: unknown): (x: unknown) => boolean {
  const k = value as number;
  switch (op) {
    case 'gt':
      return (x) => needNumber(x) > k;
    case 'ge':
      return (x) => needNumber(x) >= k;
    case 'lt':
      return (x) => needNumber(x) < k;
    case 'le':
      return (x) => needNumber(x) <= k;
    case 'eq':
      return (x) => jsonEqual(x, value);
    case 'ne':
      return (x) => !jsonEqual(x, value);
    case 'even':
      return (x) => {
        const n = needNumber(x);
        return Number.isInteger(n) && n % 2 === 0;
      };
    case 'odd':
      return (x) => {
        const n = needNumber(x);
        return Number.isInteger(n) && n % 2 !== 0;
      };
    case 'contains':
      return (x) => {
        if (typeof x === 'string') {
          if (typeof value !== 'string')
            throw new ItemError(`cannot search a string for a value of type ${jsonTypeOf(value)}`);
          return x.includes(value);
        }
        if (Array.isArray(x)) return x.some((e) => jsonEqual(e, value));
        throw wrongItemType('a string or an array', x);
      };
  }
}

export const Filter = defineNodeType<Params>({
  name: 'Filter',
  aliases: ['FilterNode'],
  role: 'transform',
  description: 'Keeps items that pass a test (gt, ge, lt, le, eq, ne, even, odd, contains).',
  params: Params,
  check: (p) => {
    if (p.op === 'even' || p.op === 'odd') return [];
    if (p.value === undefined) return [{ path: '.value', message: `required for op '${p.op}'` }];
    if (NUMERIC.includes(p.op) && typeof p.value !== 'number') {
      return [{ path: '.value', message: `must be a number for op '${p.op}'; got ${jsonTypeOf(p.value)}` }];
    }
    return [];
  },
  create: ({ params }): PipelineNode => {
    const test = makeTest(params.op, params.value);
    return { process: (x) => (test(x) ? x : undefined) };
  },
});
