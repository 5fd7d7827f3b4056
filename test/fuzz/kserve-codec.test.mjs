// Fuzzing the KServe v2 codec (the model server's request reader): JSON bodies and binary-tensor bodies with
// arbitrary Inference-Header-Content-Length values, shapes, datatypes, byte sizes and nesting. Property: a
// decoded request whose every tensor holds exactly the elements its shape says, or an InferenceInputError (the
// app answers it with 400), never another exception; and nothing allocated in proportion to a size the client
// only claims (a shape, a binary_data_size, a Content-Length) rather than sends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InferenceInputError } from '../../dist/core/errors.js';
import { shapeSize } from '../../dist/inference/tensor/tensor.js';
import { BodyAssembler, parseHeaderLength, parseInferRequest } from '../../dist/inference/kserve/codec.js';
import { anyJsonValue, anyString, fuzz, mutated } from './fuzz-support.mjs';

const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
];
const BYTES = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** Reads a request as the model server does; returns 'ok' or 'input-error', rethrows anything else. */
function decode(body, header) {
  try {
    const request = parseInferRequest(body, parseHeaderLength(header, body.byteLength));
    for (const t of request.inputs) {
      assert.ok(DATATYPES.includes(t.datatype), `datatype ${t.datatype}`);
      assert.equal(t.data.length, shapeSize(t.shape), `input '${t.name}' holds what its shape says`);
      assert.ok(t.data.byteLength <= body.byteLength * 8 + 8, 'a tensor is never larger than what was sent');
    }
    return 'ok';
  } catch (e) {
    if (e instanceof InferenceInputError) {
      assert.ok(e.message.length > 0);
      return 'input-error';
    }
    throw e;
  }
}

/** A request whose data (or shape) is nested up to 10^5 deep. */
const deepRequest = fc
  .tuple(
    fc.integer({ min: 1, max: 100_000 }),
    fc.constantFrom('data', 'shape'),
    fc.constantFrom('1', '', '{}'),
  )
  .map(([d, field, leaf]) => {
    const deep = `${'['.repeat(d)}${leaf}${']'.repeat(d)}`;
    return field === 'data'
      ? `{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":${deep}}]}`
      : `{"inputs":[{"name":"a","datatype":"FP32","shape":${deep},"data":[1]}]}`;
  });

const headerValue = fc.oneof(
  fc.constant(undefined),
  fc.nat().map(String),
  fc.constantFrom('0', '-1', ' 7 ', '1e3', '0x10', '99999999999999999999', '', ' ', '12abc', 'NaN'),
  fc.array(fc.nat({ max: 100 }).map(String), { minLength: 1, maxLength: 3 }),
  anyString({ maxLength: 10 }),
);

const dim = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: 4 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      -1,
      2 ** 31,
      2 ** 40,
      2 ** 53 - 1,
      2 ** 53,
      1e300,
      0.5,
      -0,
      '3',
      null,
      true,
      '\uE000x',
    ),
  },
);

const scalar = (datatype) => {
  switch (datatype) {
    case 'BOOL':
      return fc.boolean();
    case 'FP32':
    case 'FP64':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null));
    default:
      return fc.oneof(fc.integer({ min: -200, max: 70000 }), fc.constantFrom(2 ** 53, -(2 ** 63), 2 ** 64));
  }
};

/** data for a shape: flat, nested as the shape says, or (rarely) arbitrary JSON. */
function dataFor(shape, datatype) {
  const n = shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? shapeSize(shape) : 0;
  if (n > 64) return fc.constant([]);
  return fc.array(scalar(datatype), { minLength: n, maxLength: n }).chain((flat) => {
    const nested = () => {
      if (shape.length < 2) return flat;
      let level = flat;
      for (let k = shape.length - 1; k >= 1; k--) {
        const size = shape[k];
        if (size === 0) return flat;
        const out = [];
        for (let i = 0; i < level.length; i += size) out.push(level.slice(i, i + size));
        level = out;
      }
      return level;
    };
    return fc.constantFrom(flat, nested());
  });
}

/** One tensor: JSON data, or binary data with its bytes (the right number, or not). */
const tensor = fc
  .tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('x', 'y', 'ids', 'images') },
      { weight: 1, arbitrary: fc.constantFrom('\uE000', '\uE000x', '\uE0001', '\uE000-') },
      { weight: 1, arbitrary: anyString({ maxLength: 6 }) },
    ),
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...DATATYPES) },
      { weight: 1, arbitrary: fc.constantFrom('FLOAT', 'fp32', 'BYTES', 'BF16', '', 'INT128') },
    ),
    fc.array(dim, { maxLength: 4 }),
    fc.constantFrom('json', 'json', 'binary'),
    fc.integer({ min: -3, max: 3 }),
  )
  .chain(([name, datatype, shape, how, skew]) => {
    const count = shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? shapeSize(shape) : 1;
    if (how === 'binary') {
      const claimed = count * (BYTES[datatype] ?? 1);
      const sent = Math.max(0, Math.min(claimed, 4096) + skew);
      return fc.record({
        json: fc.constant({
          name,
          datatype,
          shape,
          parameters: { binary_data_size: claimed + (skew === 3 ? 1 : 0) },
        }),
        bytes: fc.uint8Array({ minLength: sent, maxLength: sent }),
      });
    }
    return fc.record({
      json: dataFor(shape, datatype).map((data) => ({ name, datatype, shape, data })),
      bytes: fc.constant(new Uint8Array(0)),
    });
  });

/** A mostly valid request with its binary part, then random edits of its JSON. */
const request = fc
  .record(
    {
      tensors: fc.array(tensor, { maxLength: 3 }),
      id: fc.string({ maxLength: 5 }),
      outputs: fc.array(
        fc.record(
          { name: fc.constantFrom('y', 'z', ''), parameters: fc.record({ binary_data: fc.boolean() }) },
          { requiredKeys: ['name'] },
        ),
        { maxLength: 2 },
      ),
      binaryOutput: fc.boolean(),
    },
    { requiredKeys: ['tensors'] },
  )
  .chain((r) =>
    mutated(
      fc.constant({
        ...(r.id !== undefined ? { id: r.id } : {}),
        inputs: r.tensors.map((t) => t.json),
        ...(r.outputs !== undefined ? { outputs: r.outputs } : {}),
        ...(r.binaryOutput !== undefined ? { parameters: { binary_data_output: r.binaryOutput } } : {}),
      }),
    ).map((json) => ({ json, bytes: Buffer.concat(r.tensors.map((t) => t.bytes)) })),
  );

describe('KServe v2 codec fuzz', () => {
  test('any bytes and any Inference-Header-Content-Length: a request or a 400 input error', async () => {
    await fuzz(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((s) => Buffer.from(s)),
          deepRequest.map((s) => Buffer.from(s)),
        ),
        headerValue,
        (bytes, header) => {
          decode(bytes, header);
        },
      ),
      1000,
    );
  });

  test('structured requests (JSON and binary tensors, edited): a request or a 400 input error', async () => {
    await fuzz(
      fc.property(
        request,
        fc.integer({ min: -2, max: 2 }),
        fc.boolean(),
        ({ json, bytes }, skew, withHeader) => {
          const head = Buffer.from(JSON.stringify(json));
          const body = Buffer.concat([head, bytes]);
          const header = withHeader || bytes.length > 0 ? String(head.length + skew) : undefined;
          decode(body, header);
        },
      ),
      500,
    );
  });

  test('a valid JSON request decodes to the values it sent', async () => {
    const typed = fc
      .tuple(
        fc.constantFrom('INT32', 'FP64', 'BOOL', 'UINT8'),
        fc.array(fc.nat({ max: 3 }), { maxLength: 3 }),
      )
      .chain(([datatype, shape]) => dataFor(shape, datatype).map((data) => ({ datatype, shape, data })));
    await fuzz(
      fc.property(typed, ({ datatype, shape, data }) => {
        const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype, shape, data }] }));
        let request;
        try {
          request = parseInferRequest(body);
        } catch (e) {
          if (e instanceof InferenceInputError) return; // a value out of the datatype's range
          throw e;
        }
        const sent = JSON.parse(JSON.stringify(data)); // what went over the wire (-0 is written 0)
        const expected = sent.flat(Infinity).map((v) => (v === null ? NaN : Number(v)));
        assert.deepEqual(Array.from(request.inputs[0].data, Number), expected);
      }),
      300,
    );
  });

  test('a Content-Length that is claimed but not sent costs what was sent', async () => {
    await fuzz(
      fc.property(
        fc.integer({ min: 1 << 20, max: 1 << 30 }),
        fc.array(fc.uint8Array({ maxLength: 1000 }), { maxLength: 5 }),
        fc.option(fc.nat({ max: 100 }), { nil: undefined }),
        (claimed, chunks, headerLength) => {
          const before = process.memoryUsage().arrayBuffers;
          const assemblers = Array.from(
            { length: 8 },
            () => new BodyAssembler(claimed, headerLength, 1 << 30),
          );
          for (const a of assemblers) for (const c of chunks) a.push(c);
          const grown = process.memoryUsage().arrayBuffers - before;
          assert.ok(grown < 8 * (1 << 20), `8 assemblers of ${claimed} claimed bytes hold ${grown} bytes`);
          for (const a of assemblers) assert.throws(() => a.finish(), InferenceInputError);
        },
      ),
      50,
    );
  });
});

describe('KServe v2 codec regressions (cases the fuzzer found)', () => {
  test('a string that starts with the long-integer marker is a 400, not a SyntaxError', () => {
    // Was: SyntaxError "Cannot convert x to a BigInt" (a 500) for a name, an id, a datatype, a dimension.
    for (const [body, expected] of [
      ['{"inputs":[{"name":"\uE000x"}]}', 'input-error'], // no datatype
      ['{"id":"\uE000abc","inputs":[]}', 'ok'], // an id like any other
      ['{"inputs":[{"name":"a","datatype":"\uE000","shape":[1],"data":[1]}]}', 'input-error'],
      ['{"inputs":[{"name":"a","datatype":"INT64","shape":["\uE000-"],"data":[1]}]}', 'input-error'],
      ['{"inputs":[{"name":"a","datatype":"INT64","shape":[1],"data":["\uE0001x"]}]}', 'input-error'],
    ]) {
      assert.equal(decode(Buffer.from(body), undefined), expected, body);
    }
  });

  test('data nested 10^5 deep is a 400, not a stack overflow', () => {
    // Was: RangeError "Maximum call stack size exceeded" (a 500) from counting the leaves recursively.
    const d = 100_000;
    const deep = `${'['.repeat(d)}1${']'.repeat(d)}`;
    const body = `{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":${deep}}]}`;
    assert.equal(decode(Buffer.from(body), undefined), 'input-error');
    const one = `{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":${deep}}]}`;
    assert.equal(
      decode(Buffer.from(one), undefined),
      'ok',
      'as deep as it likes, one element is one element',
    );
  });

  test('a body that claims 1 GiB and sends 10 bytes holds 10 bytes, not 1 GiB', () => {
    // Was: the whole Content-Length allocated up front for every request under the limit.
    const before = process.memoryUsage().arrayBuffers;
    const a = new BodyAssembler(1 << 30, undefined, 1 << 30);
    a.push(Buffer.from('0123456789'));
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
    assert.throws(() => a.finish(), /ended after 10 of its 1073741824 bytes/);
  });
});

// JSON values as data: the checker must refuse objects, strings, nested objects wherever they are.
test('KServe v2 codec fuzz: any JSON as data, shape and parameters', async () => {
  await fuzz(
    fc.property(anyJsonValue, anyJsonValue, anyJsonValue, (data, shape, parameters) => {
      const body = Buffer.from(
        JSON.stringify({ inputs: [{ name: 'a', datatype: 'FP32', shape, data, parameters }] }),
      );
      decode(body, undefined);
    }),
    500,
  );
});
