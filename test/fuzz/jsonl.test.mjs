// Fuzzing the JSONL reader (readJsonl) through its public function, on real byte streams cut into arbitrary
// chunks. Property: the values yielded equal JSON.parse of each non-blank line (\n or \r\n, blank lines counted
// in the line numbers), a line that is not JSON becomes an InputParseFailure with its 1-based line number, bad
// content never throws, and how the bytes are cut into chunks (inside a \r\n, inside a UTF-8 sequence, one byte
// at a time) never changes the result.
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_JSON_DEPTH, readJsonl } from '../../dist/pipeline/jsonl.js';
import { InputParseFailure } from '../../dist/pipeline/node.js';
import { anyJsonValue, anyString, assertSameJson, fuzz } from './fuzz-support.mjs';

/** A readable byte stream that hands out `bytes` in the given chunks. */
function streamOf(bytes, cuts) {
  const ends = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks = [];
  let at = 0;
  for (const end of [...ends, bytes.length]) {
    if (end > at) chunks.push(bytes.subarray(at, end));
    at = Math.max(at, end);
  }
  return Readable.from(chunks, { objectMode: false });
}

/** What the reader yields, as comparable values: parsed JSON, or `{ failure: line }`. */
async function readAll(stream) {
  const out = [];
  for await (const v of readJsonl(stream)) {
    if (v instanceof InputParseFailure) out.push({ failure: v.line });
    else out.push({ value: v });
  }
  return out;
}

/** Nesting depth of valid JSON text, counted plainly (brackets inside strings do not count). */
function depthOf(text) {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

/** The reader's contract, written plainly: split the decoded text into lines and parse each. */
function expected(text) {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop(); // a final \n ends the last line, it does not start another
  const out = [];
  lines.forEach((line, i) => {
    const raw = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (/^[ \t]*$/.test(raw)) return;
    try {
      const value = JSON.parse(raw);
      // A line nested deeper than MAX_JSON_DEPTH is refused (it would break JSON writers downstream).
      out.push(depthOf(raw) > MAX_JSON_DEPTH ? { failure: i + 1 } : { value });
    } catch {
      out.push({ failure: i + 1 });
    }
  });
  return out;
}

const deep = fc.integer({ min: 1, max: 20_000 }).chain((depth) =>
  fc.constantFrom('[', '{"a":').map((open) => {
    const close = open === '[' ? ']' : '}';
    return open.repeat(depth) + (open === '[' ? '' : '0') + close.repeat(depth);
  }),
);

/** One line's text (without its terminator). */
const lineText = fc.oneof(
  { weight: 6, arbitrary: anyJsonValue.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: anyJsonValue.map((v) => ` \t${JSON.stringify(v)}\t `) },
  { weight: 2, arbitrary: fc.constantFrom('', ' ', '\t', ' \t ', '\r', '\u00a0', '\ufeff') },
  { weight: 2, arbitrary: anyString({ maxLength: 30 }).map((s) => s.replace(/\n/g, '')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('{', '[1,', 'nul', 'NaN', '1e999', '"\\ud800"', '[1]x', '01', '-'),
  },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((n) => JSON.stringify('x'.repeat(n))) },
);

/** A JSONL document: lines with \n or \r\n, the last one with or without a terminator. */
const document = fc
  .tuple(fc.array(fc.tuple(lineText, fc.constantFrom('\n', '\n', '\r\n')), { maxLength: 12 }), fc.boolean())
  .map(([lines, finalNewline]) => {
    let text = lines.map(([t, end]) => t + end).join('');
    if (!finalNewline && text.endsWith('\n')) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);
    return text;
  });

/** Invalid UTF-8 put in the text: stray continuation bytes, truncated sequences, overlong forms, surrogates. */
const badBytes = fc.constantFrom(
  [0x80],
  [0xbf],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xff],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
);

describe('JSONL reader fuzz', () => {
  test('values equal JSON.parse of each non-blank line, failures carry their line numbers', async () => {
    await fuzz(
      fc.asyncProperty(document, fc.array(fc.nat(), { maxLength: 20 }), async (text, cuts) => {
        const bytes = Buffer.from(text, 'utf8');
        assertSameJson(await readAll(streamOf(bytes, cuts)), expected(bytes.toString('utf8')));
      }),
      100,
    );
  });

  test('invalid UTF-8 anywhere: the result does not depend on the chunking and nothing throws', async () => {
    await fuzz(
      fc.asyncProperty(
        document,
        fc.array(fc.tuple(fc.nat(), badBytes), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (text, inserts, cuts) => {
          let bytes = Buffer.from(text, 'utf8');
          for (const [at, bad] of inserts) {
            const i = at % (bytes.length + 1);
            bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]);
          }
          const whole = await readAll(streamOf(bytes, []));
          assertSameJson(await readAll(streamOf(bytes, cuts)), whole, 'chunking changed the result');
          assertSameJson(whole, expected(bytes.toString('utf8')));
        },
      ),
      100,
    );
  });

  test('one byte at a time gives the same result as one chunk', async () => {
    await fuzz(
      fc.asyncProperty(document, async (text) => {
        const bytes = Buffer.from(text, 'utf8');
        if (bytes.length > 5000) return; // a long document byte by byte is slow, not more interesting
        const cuts = Array.from({ length: bytes.length }, (_, i) => i);
        assertSameJson(await readAll(streamOf(bytes, cuts)), await readAll(streamOf(bytes, [])));
      }),
      50,
    );
  });
});
