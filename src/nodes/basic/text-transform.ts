/**
 * TextTransform: string operations with Python's definitions where JavaScript's differ (strip's whitespace
 * set, title's word rule, length in code points), so the CPython reference agrees exactly.
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { wrongItemType } from './item-types.js';
import { oneOf } from './operation-param.js';

export const TEXT_OPERATIONS = ['uppercase', 'lowercase', 'reverse', 'strip', 'title', 'length'] as const;

const Params = Type.Object(
  {
    operation: oneOf(TEXT_OPERATIONS, 'The transform.'),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

const SURROGATE = /[\uD800-\uDFFF]/;
// Python's str.isspace set.
const WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const STRIP = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g');
const CASED = /[\p{Lowercase}\p{Uppercase}\p{Lt}]/u;
/** Characters whose title case differs from their upper case (Python's str.title). */
const TITLE_CASE: Readonly<Record<string, string>> = {
  ß: 'Ss',
  Ǆ: 'ǅ',
  ǅ: 'ǅ',
  ǆ: 'ǅ',
  Ǉ: 'ǈ',
  ǈ: 'ǈ',
  ǉ: 'ǈ',
  Ǌ: 'ǋ',
  ǋ: 'ǋ',
  ǌ: 'ǋ',
  Ǳ: 'ǲ',
  ǲ: 'ǲ',
  ǳ: 'ǲ',
  ﬀ: 'Ff',
  ﬁ: 'Fi',
  ﬂ: 'Fl',
  ﬃ: 'Ffi',
  ﬄ: 'Ffl',
  ﬅ: 'St',
  ﬆ: 'St',
};

/** Reverses code points (a surrogate pair stays in order). */
export function reverseCodePoints(s: string): string {
  if (!SURROGATE.test(s)) {
    let out = '';
    for (let i = s.length - 1; i >= 0; i--) out += s.charAt(i);
    return out;
  }
  return Array.from(s).reverse().join('');
}

/** Python's str.title: cased characters after a cased character are lowered, others title-cased. */
export function pythonTitle(s: string): string {
  let out = '';
  let prevCased = false;
  for (const c of s) {
    const cased = CASED.test(c);
    if (cased) out += prevCased ? c.toLowerCase() : (TITLE_CASE[c] ?? c.toUpperCase());
    else out += c;
    prevCased = cased;
  }
  return out;
}

/** Number of code points. */
export function codePointLength(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function transform(operation: Params['operation']): (s: string) => string | number {
  switch (operation) {
    case 'uppercase':
      return (s) => s.toUpperCase();
    case 'lowercase':
      return (s) => s.toLowerCase();
    case 'reverse':
      return reverseCodePoints;
    case 'strip':
      return (s) => s.replace(STRIP, '');
    case 'title':
      return pythonTitle;
    case 'length':
      return codePointLength;
  }
}

export const TextTransform = defineNodeType<Params>({
  name: 'TextTransform',
  aliases: ['TextTransformNode'],
  role: 'transform',
  description: 'Transforms string items: uppercase, lowercase, reverse, strip, title, length.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const f = transform(params.operation);
    return {
      process: (x) => {
        if (typeof x !== 'string') throw wrongItemType('a string', x);
        return f(x);
      },
    };
  },
});
