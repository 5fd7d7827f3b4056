import { InferenceInputError } from '../../core/errors.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TENSOR_DATATYPES,
  type InferenceResult,
  type Tensor,
  type TensorDataType,
} from '../tensor/tensor.js';
import {
  BodyAssembler,
  decodeInferResponse,
  encodeInferRequest,
  encodeInferResponse,
  parseHeaderLength,
  parseInferRequest,
  type EncodedBody,
} from './codec.js';

/** One tensor of every datatype, with its edge values. */
function sampleTensor(datatype: TensorDataType): Tensor {
  const shape = [2, 3];
  switch (datatype) {
    case 'BOOL':
      return { name: 'b', datatype, shape, data: new Uint8Array([1, 0, 1, 1, 0, 0]) };
    case 'UINT8':
      return { name: 'u8', datatype, shape, data: new Uint8Array([0, 1, 2, 127, 128, 255]) };
    case 'UINT16':
      return { name: 'u16', datatype, shape, data: new Uint16Array([0, 1, 300, 32768, 65534, 65535]) };
    case 'UINT32':
      return {
        name: 'u32',
        datatype,
        shape,
        data: new Uint32Array([0, 1, 70000, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1]),
      };
    case 'UINT64':
      return {
        name: 'u64',
        datatype,
        shape,
        data: new BigUint64Array([0n, 1n, 2n ** 32n, 2n ** 53n + 1n, 12345678901234n, 2n ** 64n - 1n]),
      };
    case 'INT8':
      return { name: 'i8', datatype, shape, data: new Int8Array([-128, -1, 0, 1, 100, 127]) };
    case 'INT16':
      return { name: 'i16', datatype, shape, data: new Int16Array([-32768, -1, 0, 1, 1000, 32767]) };
    case 'INT32':
      return {
        name: 'i32',
        datatype,
        shape,
        data: new Int32Array([-(2 ** 31), -1, 0, 1, 123456, 2 ** 31 - 1]),
      };
    case 'INT64':
      return {
        name: 'i64',
        datatype,
        shape,
        data: new BigInt64Array([-(2n ** 63n), -1n, 0n, 1n, 30522n, 2n ** 63n - 1n]),
      };
    case 'FP16':
      // 1.0, -2.0, 0.5, 65504 (max), +0, -0 as IEEE half bits.
      return {
        name: 'f16',
        datatype,
        shape,
        data: new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0, 0x8000]),
      };
    case 'FP32':
      return {
        name: 'f32',
        datatype,
        shape,
        data: new Float32Array([0.1, -1.5, 3.4028234663852886e38, 1.401298464324817e-45, 0, -0]),
      };
    case 'FP64':
      return {
        name: 'f64',
        datatype,
        shape,
        data: new Float64Array([0.1, -1e-300, 1e300, Math.PI, 0, 2 ** 60]),
      };
  }
}

/** A body of a JSON header and binary parts, with its Inference-Header-Content-Length. */
function binaryBody(header: unknown, ...parts: Uint8Array[]): { body: Uint8Array; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...parts]), headerLength: json.byteLength };
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function parseEncoded(e: EncodedBody): ReturnType<typeof parseInferRequest> {
  return parseInferRequest(e.body, e.headerLength);
}

function result(outputs: Tensor[], id?: string): InferenceResult {
  return { modelName: 'm', modelVersion: '3', outputs, ...(id !== undefined && { id }) };
}

function throwsInput(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InferenceInputError, `expected InferenceInputError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('kserve codec: round trips', () => {
  for (const datatype of TENSOR_DATATYPES) {
    test(`${datatype}: request JSON and binary, response JSON and binary`, () => {
      const t = sampleTensor(datatype);
      const json = encodeInferRequest({ inputs: [t] }, { binaryInputs: false, binaryOutputs: false });
      const binary = encodeInferRequest({ inputs: [t] }, { binaryInputs: true, binaryOutputs: true });
      if (datatype === 'FP16') {
        // JSON has no 16-bit float: FP16 inputs always travel as bytes.
        assert.equal(json.contentType, 'application/octet-stream');
      } else {
        assert.equal(json.contentType, 'application/json');
        assert.equal(json.headerLength, undefined);
      }
      assert.equal(binary.contentType, 'application/octet-stream');
      assert.equal(binary.headerLength! + t.data.byteLength, binary.body.byteLength);
      for (const encoded of [json, binary]) {
        const [back] = parseEncoded(encoded).inputs;
        assert.deepEqual(back, t);
      }

      const asBinary = encodeInferResponse(result([t], 'req-1'), 'all');
      const decoded = decodeInferResponse(asBinary.body, asBinary.headerLength, {
        modelName: '',
        modelVersion: '',
      });
      assert.deepEqual(decoded, result([t], 'req-1'));
      if (datatype !== 'FP16') {
        const asJson = encodeInferResponse(result([t]), 'none');
        assert.equal(asJson.headerLength, undefined);
        assert.deepEqual(
          decodeInferResponse(asJson.body, undefined, { modelName: '', modelVersion: '' }),
          result([t]),
        );
      }
    });
  }

  test('JSON: INT64 as plain numbers, BOOL as true/false, FP32 as the shortest decimal of its double', () => {
    const body = encodeInferResponse(
      result([
        { name: 'i', datatype: 'INT64', shape: [2], data: new BigInt64Array([-5n, 9007199254740991n]) },
        { name: 'b', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
        { name: 'f', datatype: 'FP32', shape: [1], data: new Float32Array([0.5]) },
      ]),
      'none',
    ).body;
    assert.deepEqual(JSON.parse(body.toString()), {
      model_name: 'm',
      model_version: '3',
      outputs: [
        { name: 'i', datatype: 'INT64', shape: [2], data: [-5, 9007199254740991] },
        { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] },
        { name: 'f', datatype: 'FP32', shape: [1], data: [0.5] },
      ],
    });
  });

  test('JSON: INT64 and UINT64 beyond 2^53 keep every digit both ways (as on Triton)', () => {
    const big: Tensor = {
      name: 'i',
      datatype: 'INT64',
      shape: [3],
      data: new BigInt64Array([2n ** 62n + 1n, -(2n ** 63n), 2n ** 63n - 1n]),
    };
    const ubig: Tensor = {
      name: 'u',
      datatype: 'UINT64',
      shape: [1],
      data: new BigUint64Array([2n ** 64n - 1n]),
    };
    const encoded = encodeInferRequest(
      { id: '12345678901234567890', inputs: [big, ubig] },
      { binaryInputs: false, binaryOutputs: false },
    );
    assert.match(
      encoded.body.toString(),
      /"data":\[4611686018427387905,-9223372036854775808,9223372036854775807\]/,
    );
    const parsed = parseEncoded(encoded);
    assert.equal(parsed.id, '12345678901234567890', 'digits inside strings are left alone');
    assert.deepEqual(parsed.inputs, [big, ubig]);
    const response = encodeInferResponse(result([big, ubig]), 'none');
    assert.deepEqual(
      decodeInferResponse(response.body, undefined, { modelName: '', modelVersion: '' }),
      result([big, ubig]),
    );
    throwsInput(
      () =>
        parseInferRequest(
          Buffer.from(
            '{"inputs":[{"name":"i","datatype":"INT64","shape":[1],"data":[9223372036854775808]}]}',
          ),
        ),
      /^inputs\[0\] 'i': data\[0\] is 9223372036854775808, expected an integer from -9223372036854775808 to 9223372036854775807 for INT64$/,
    );
    throwsInput(
      () =>
        parseInferRequest(
          Buffer.from(
            '{"inputs":[{"name":"i","datatype":"INT32","shape":[1],"data":[12345678901234567890]}]}',
          ),
        ),
      /^inputs\[0\] 'i': data\[0\] is 12345678901234567890, expected an integer for INT32$/,
    );
    throwsInput(
      () => parseInferRequest(Buffer.from('{"id":12345678901234567890,"inputs":[]}')),
      /^id must be a string, got a number$/,
    );
    // Long integer literals in float data are numbers like any other.
    const f = parseInferRequest(
      Buffer.from(
        '{"inputs":[{"name":"f","datatype":"FP64","shape":[2],"data":[100000000000000000000,1.2345678901234567]}]}',
      ),
    );
    assert.deepEqual([...f.inputs[0]!.data], [1e20, 1.2345678901234567]);
  });

  test('JSON: NaN and infinities go as null and come back as NaN', () => {
    const t: Tensor = { name: 'f', datatype: 'FP32', shape: [3], data: new Float32Array([NaN, Infinity, 1]) };
    const encoded = encodeInferResponse(result([t]), 'none');
    assert.match(encoded.body.toString(), /"data":\[null,null,1\]/);
    const back = decodeInferResponse(encoded.body, undefined, { modelName: '', modelVersion: '' });
    assert.deepEqual([...(back.outputs[0]!.data as Float32Array)], [NaN, NaN, 1]);
  });

  test('nested JSON data is read in row-major order', () => {
    const body = JSON.stringify({
      inputs: [
        {
          name: 'x',
          datatype: 'INT32',
          shape: [2, 2, 2],
          data: [
            [
              [1, 2],
              [3, 4],
            ],
            [
              [5, 6],
              [7, 8],
            ],
          ],
        },
        {
          name: 'y',
          datatype: 'FP32',
          shape: [2, 3],
          data: [
            [1.5, 2, 3],
            [4, 5, 6],
          ],
        },
        { name: 'z', datatype: 'BOOL', shape: [1, 2], data: [[true, false]] },
      ],
    });
    const { inputs } = parseInferRequest(Buffer.from(body));
    assert.deepEqual([...inputs[0]!.data], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual([...inputs[1]!.data], [1.5, 2, 3, 4, 5, 6]);
    assert.deepEqual([...inputs[2]!.data], [1, 0]);
    assert.deepEqual(inputs[0]!.shape, [2, 2, 2]);
  });

  test('mixed binary and JSON inputs in one request; bytes are taken in the order of the binary inputs', () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const c = new BigInt64Array([10n, -20n]);
    const { body, headerLength } = binaryBody(
      {
        id: 'mix',
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } },
          { name: 'b', datatype: 'UINT8', shape: [3], data: [7, 8, 9] },
          { name: 'c', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } },
        ],
      },
      bytesOf(a),
      bytesOf(c),
    );
    const parsed = parseInferRequest(body, headerLength);
    assert.equal(parsed.id, 'mix');
    assert.deepEqual(
      parsed.inputs.map((t) => [t.name, t.datatype, [...t.data]]),
      [
        ['a', 'FP32', [1, 2, 3, 4]],
        ['b', 'UINT8', [7, 8, 9]],
        ['c', 'INT64', [10n, -20n]],
      ],
    );
    assert.equal(parsed.outputs, undefined);
    assert.equal(parsed.binaryOutputs, 'none');
  });

  test("the binary extension's own example: UINT32 [2,2] and BOOL [3] as bytes, output0 as binary", () => {
    const { body, headerLength } = binaryBody(
      {
        model_name: 'mymodel',
        inputs: [
          { name: 'input0', shape: [2, 2], datatype: 'UINT32', parameters: { binary_data_size: 16 } },
          { name: 'input1', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
        ],
        outputs: [{ name: 'output0', parameters: { binary_data: true } }],
      },
      bytesOf(new Uint32Array([1, 2, 3, 4])),
      new Uint8Array([1, 0, 1]),
    );
    const parsed = parseInferRequest(body, headerLength);
    assert.deepEqual([...parsed.inputs[0]!.data], [1, 2, 3, 4]);
    assert.deepEqual([...parsed.inputs[1]!.data], [1, 0, 1]);
    assert.deepEqual(parsed.outputs, ['output0']);
    assert.deepEqual(parsed.binaryOutputs, new Set(['output0']));
  });

  test('binary outputs: binary_data_output for all, binary_data per output overriding it', () => {
    const input = { name: 'x', datatype: 'INT8', shape: [1], data: [1] };
    const parse = (extra: object) =>
      parseInferRequest(Buffer.from(JSON.stringify({ inputs: [input], ...extra })));
    assert.equal(parse({ parameters: { binary_data_output: true } }).binaryOutputs, 'all');
    assert.equal(parse({ parameters: { binary_data_output: false } }).binaryOutputs, 'none');
    assert.deepEqual(
      parse({
        parameters: { binary_data_output: true },
        outputs: [{ name: 'p' }, { name: 'q', parameters: { binary_data: false } }],
      }).binaryOutputs,
      new Set(['p']),
    );
    assert.deepEqual(
      parse({ outputs: [{ name: 'p', parameters: { binary_data: true } }, { name: 'q' }] }).binaryOutputs,
      new Set(['p']),
    );

    // The response: p as bytes, q as JSON, in one body.
    const p: Tensor = { name: 'p', datatype: 'FP32', shape: [2], data: new Float32Array([1, 2]) };
    const q: Tensor = { name: 'q', datatype: 'INT32', shape: [1], data: new Int32Array([5]) };
    const encoded = encodeInferResponse(result([p, q]), new Set(['p']));
    assert.equal(encoded.body.byteLength, encoded.headerLength! + 8);
    const header = JSON.parse(encoded.body.subarray(0, encoded.headerLength).toString()) as {
      outputs: Record<string, unknown>[];
    };
    assert.deepEqual(header.outputs, [
      { name: 'p', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
      { name: 'q', datatype: 'INT32', shape: [1], data: [5] },
    ]);
    assert.deepEqual(
      decodeInferResponse(encoded.body, encoded.headerLength, { modelName: '', modelVersion: '' }),
      result([p, q]),
    );
  });

  test('the client asks for outputs as binary per output when it names them, else for all', () => {
    const x: Tensor = { name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array([1]) };
    const header = (e: EncodedBody) =>
      JSON.parse(e.body.subarray(0, e.headerLength).toString()) as Record<string, unknown>;
    const named = encodeInferRequest(
      { id: '7', inputs: [x], outputs: ['a', 'b'] },
      { binaryInputs: true, binaryOutputs: true },
    );
    assert.deepEqual(header(named), {
      id: '7',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }],
      outputs: [
        { name: 'a', parameters: { binary_data: true } },
        { name: 'b', parameters: { binary_data: true } },
      ],
    });
    const all = encodeInferRequest({ inputs: [x] }, { binaryInputs: true, binaryOutputs: true });
    assert.deepEqual(header(all).parameters, { binary_data_output: true });
    const plain = encodeInferRequest(
      { inputs: [x], outputs: ['a'] },
      { binaryInputs: false, binaryOutputs: false },
    );
    assert.deepEqual(JSON.parse(plain.body.toString()), {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }],
      outputs: [{ name: 'a' }],
    });
  });

  test('aligned binary tensors are views of the body, not copies', () => {
    const data = new Float64Array([1, 2, 3]);
    const header = {
      inputs: [{ name: 'x', datatype: 'FP64', shape: [3], parameters: { binary_data_size: 24 } }],
    };
    const json = Buffer.from(JSON.stringify(header));
    const assembler = new BodyAssembler(json.byteLength + 24, json.byteLength, 1 << 20);
    assembler.push(json.subarray(0, 5));
    assembler.push(Buffer.concat([json.subarray(5), bytesOf(data)]));
    const body = assembler.finish();
    assert.equal((body.byteOffset + json.byteLength) % 8, 0, 'the binary part starts 8-byte aligned');
    const [x] = parseInferRequest(body, json.byteLength).inputs;
    assert.equal(x!.data.buffer, body.buffer);
    assert.deepEqual([...x!.data], [1, 2, 3]);
  });
});

describe('kserve codec: BodyAssembler and the header length', () => {
  test('chunks of a body of unknown length; the limit; a body shorter than its Content-Length', () => {
    const a = new BodyAssembler(undefined, undefined, 10);
    assert.equal(a.push(Buffer.from('hello ')), true);
    assert.equal(a.push(Buffer.from('you')), true);
    assert.equal(Buffer.from(a.finish()).toString(), 'hello you');
    const small = new BodyAssembler(undefined, undefined, 4);
    assert.equal(small.push(Buffer.from('12345')), false);
    const short = new BodyAssembler(10, undefined, 100);
    short.push(Buffer.from('abc'));
    throwsInput(() => short.finish(), /the body ended after 3 of its 10 bytes/);
    const long = new BodyAssembler(2, undefined, 100);
    throwsInput(() => long.push(Buffer.from('abc')), /longer than its Content-Length \(2 bytes\)/);
  });

  test('parseHeaderLength', () => {
    assert.equal(parseHeaderLength(undefined, 10), undefined);
    assert.equal(parseHeaderLength(' 7 ', 10), 7);
    throwsInput(
      () => parseHeaderLength('500', 120),
      /^header length 500 is larger than the body \(120 bytes\)$/,
    );
    throwsInput(
      () => parseHeaderLength('12abc', 120),
      /Inference-Header-Content-Length must be the length .* got '12abc'/,
    );
    throwsInput(() => parseHeaderLength('-1', 120), /got '-1'/);
    throwsInput(() => parseHeaderLength('0', 120), /raw binary input\) is not supported/);
  });
});

describe('kserve codec: malformed requests name the tensor, where it is, and the problem', () => {
  const json = (request: unknown) => () => parseInferRequest(Buffer.from(JSON.stringify(request)));
  const x = { name: 'x', datatype: 'FP32', shape: [2], data: [1, 2] };

  test('not JSON, not an object, no inputs', () => {
    throwsInput(
      () => parseInferRequest(Buffer.from('{"inputs": [')),
      /^the request is not valid JSON \(.+\); a body with binary tensor data needs the Inference-Header-Content-Length header$/,
    );
    throwsInput(
      () => parseInferRequest(Buffer.from('{"inputs": [] }xx'), 3),
      /^the JSON header \(the first 3 bytes, per Inference-Header-Content-Length\) is not valid JSON/,
    );
    throwsInput(json([1, 2]), /^the request must be a JSON object, got an array$/);
    throwsInput(json({}), /^inputs is missing$/);
    throwsInput(json({ inputs: {} }), /^inputs must be an array, got an object$/);
    throwsInput(json({ inputs: [x], id: 5 }), /^id must be a string, got a number$/);
    throwsInput(json({ inputs: ['x'] }), /^inputs\[0\] must be an object, got a string$/);
  });

  test('missing name, shape, datatype or data', () => {
    throwsInput(
      json({ inputs: [x, { shape: [1], datatype: 'FP32', data: [1] }] }),
      /^inputs\[1\]: name is missing$/,
    );
    throwsInput(json({ inputs: [{ ...x, shape: undefined }] }), /^inputs\[0\] 'x': shape is missing$/);
    throwsInput(json({ inputs: [{ ...x, datatype: undefined }] }), /^inputs\[0\] 'x': datatype is missing$/);
    throwsInput(
      json({ inputs: [{ ...x, data: undefined }] }),
      /^inputs\[0\] 'x': data is missing \(give data, or parameters.binary_data_size/,
    );
    throwsInput(json({ inputs: [x, x] }), /^inputs\[1\]: input 'x' is given twice$/);
  });

  test('element count, element types and ranges', () => {
    throwsInput(
      json({
        inputs: [x, { name: 'images', datatype: 'FP32', shape: [1, 3, 640, 640], data: Array(12).fill(0) }],
      }),
      /^inputs\[1\] 'images': shape \[1,3,640,640\] holds 1228800 elements, data has 12$/,
    );
    throwsInput(
      json({ inputs: [{ ...x, data: [[1], [2, 3]] }] }),
      /^inputs\[0\] 'x': shape \[2\] holds 2 elements, data has 3$/,
    );
    throwsInput(
      json({ inputs: [{ ...x, data: [1, 'two'] }] }),
      /^inputs\[0\] 'x': data\[1\] is "two", expected a number for FP32$/,
    );
    throwsInput(json({ inputs: [{ ...x, data: [1, { v: 2 }] }] }), /^inputs\[0\] 'x': data holds an object/);
    throwsInput(
      json({ inputs: [{ ...x, data: 3 }] }),
      /^inputs\[0\] 'x': data must be an array, got a number$/,
    );
    throwsInput(
      json({ inputs: [{ name: 'u', datatype: 'UINT8', shape: [2], data: [1, 300] }] }),
      /^inputs\[0\] 'u': data\[1\] is 300, expected an integer from 0 to 255 for UINT8$/,
    );
    throwsInput(
      json({ inputs: [{ name: 'i', datatype: 'INT32', shape: [1], data: [1.5] }] }),
      /^inputs\[0\] 'i': data\[0\] is 1.5, expected an integer for INT32$/,
    );
    throwsInput(
      json({ inputs: [{ name: 'u', datatype: 'UINT64', shape: [1], data: [-1] }] }),
      /^inputs\[0\] 'u': data\[0\] is -1, expected an integer from 0 to 18446744073709551615 for UINT64$/,
    );
    throwsInput(
      json({ inputs: [{ name: 'b', datatype: 'BOOL', shape: [2], data: [true, 1] }] }),
      /^inputs\[0\] 'b': data\[1\] is 1, expected true or false for BOOL$/,
    );
  });

  test('shapes: negative or fractional dimensions', () => {
    throwsInput(
      json({ inputs: [{ ...x, shape: [-1, 2] }] }),
      /^inputs\[0\] 'x': shape\[0\] is -1, negative; dimensions are whole numbers ≥ 0/,
    );
    throwsInput(
      json({ inputs: [{ ...x, shape: [2.5] }] }),
      /^inputs\[0\] 'x': shape\[0\] is 2.5, not a whole number/,
    );
    throwsInput(
      json({ inputs: [{ ...x, shape: 2 }] }),
      /^inputs\[0\] 'x': shape must be an array of dimensions, got a number$/,
    );
  });

  test('datatypes: unknown (with the right name when it is a known alias), BYTES, FP16 in JSON', () => {
    throwsInput(
      json({ inputs: [{ ...x, datatype: 'FLOAT32' }] }),
      /^unknown datatype 'FLOAT32' of input 'x' \(use FP32; the datatypes are BOOL, UINT8, .*FP64\)$/,
    );
    throwsInput(
      json({ inputs: [{ ...x, datatype: 'fp32' }] }),
      /^unknown datatype 'fp32' of input 'x' \(use FP32;/,
    );
    throwsInput(
      json({ inputs: [{ ...x, datatype: 'QUATERNION' }] }),
      /^unknown datatype 'QUATERNION' of input 'x' \(use one of BOOL/,
    );
    throwsInput(
      json({ inputs: [{ ...x, datatype: 'BYTES' }] }),
      /^datatype BYTES of input 'x' is not supported by pitlane/,
    );
    throwsInput(
      json({ inputs: [{ ...x, datatype: 'FP16' }] }),
      /^inputs\[0\] 'x': FP16 data cannot be sent as JSON \(JSON has no 16-bit float\); send it as binary data/,
    );
  });

  test('binary data: sizes, what remains, both data and binary_data_size, no header', () => {
    const header = (size: unknown, extra: object = {}) => ({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [3], parameters: { binary_data_size: size }, ...extra }],
    });
    let b = binaryBody(header(12), new Uint8Array(8));
    throwsInput(
      () => parseInferRequest(b.body, b.headerLength),
      /^binary_data_size of 'x' \(inputs\[0\]\) is 12 but 8 bytes remain in the body$/,
    );
    b = binaryBody(header(8), new Uint8Array(8));
    throwsInput(
      () => parseInferRequest(b.body, b.headerLength),
      /^inputs\[0\] 'x': binary_data_size is 8 but shape \[3\] of FP32 is 12 bytes$/,
    );
    b = binaryBody(header(12), new Uint8Array(16));
    throwsInput(
      () => parseInferRequest(b.body, b.headerLength),
      /^4 bytes of binary data follow the tensors' binary_data_size/,
    );
    b = binaryBody(header(12, { data: [1, 2, 3] }), new Uint8Array(12));
    throwsInput(
      () => parseInferRequest(b.body, b.headerLength),
      /^inputs\[0\] 'x': give either data or parameters.binary_data_size, not both$/,
    );
    b = binaryBody(header(-4), new Uint8Array(0));
    throwsInput(
      () => parseInferRequest(b.body, b.headerLength),
      /binary_data_size must be a whole number of bytes, got -4/,
    );
    throwsInput(
      json(header(12)),
      /^inputs\[0\] 'x' has parameters.binary_data_size but the body has no binary part \(send the Inference-Header-Content-Length header/,
    );
    throwsInput(
      json({ inputs: [{ ...x, parameters: { shared_memory_region: 'r' } }] }),
      /shared memory is not supported/,
    );
  });

  test('outputs and parameters', () => {
    throwsInput(json({ inputs: [x], outputs: 'y' }), /^outputs must be an array, got a string$/);
    throwsInput(
      json({ inputs: [x], outputs: [{}] }),
      /^outputs\[0\]: name must be a non-empty string, got undefined$/,
    );
    throwsInput(
      json({ inputs: [x], outputs: [{ name: 'y' }, { name: 'y' }] }),
      /^outputs\[1\]: output 'y' is asked for twice$/,
    );
    throwsInput(
      json({ inputs: [x], outputs: [{ name: 'y', parameters: { binary_data: 'yes' } }] }),
      /^outputs\[0\] 'y': parameters.binary_data must be true or false, got "yes"$/,
    );
    throwsInput(
      json({ inputs: [x], outputs: [{ name: 'y', parameters: { classification: 3 } }] }),
      /the classification extension is not supported/,
    );
    throwsInput(
      json({ inputs: [x], parameters: { binary_data_output: 1 } }),
      /^parameters.binary_data_output must be true or false, got 1$/,
    );
    throwsInput(json({ inputs: [x], parameters: [] }), /^parameters must be an object, got an array$/);
  });

  test('responses: FP16 cannot go as JSON; data that does not fit its shape is refused', () => {
    const half: Tensor = { name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) };
    throwsInput(
      () => encodeInferResponse(result([half]), 'none'),
      /^output 'h' is FP16, which JSON cannot carry: ask for it as binary data/,
    );
    const wrong: Tensor = { name: 'w', datatype: 'FP32', shape: [3], data: new Float32Array(2) };
    throwsInput(
      () => encodeInferResponse(result([wrong]), 'all'),
      /^outputs\[0\] 'w': shape \[3\] holds 3 elements, data has 2$/,
    );
    throwsInput(
      () => encodeInferRequest({ inputs: [wrong] }, { binaryInputs: false, binaryOutputs: false }),
      /^inputs\[0\] 'w': shape \[3\] holds 3 elements, data has 2$/,
    );
    throwsInput(
      () =>
        decodeInferResponse(
          Buffer.from('{"outputs":[{"name":"y","datatype":"FP32","shape":[2],"data":[1]}]}'),
          undefined,
          {
            modelName: '',
            modelVersion: '',
          },
        ),
      /^outputs\[0\] 'y': shape \[2\] holds 2 elements, data has 1$/,
    );
    throwsInput(
      () =>
        decodeInferResponse(
          Buffer.from('{"outputs":[{"name":"t","datatype":"BYTES","shape":[1],"data":["a"]}]}'),
          undefined,
          {
            modelName: '',
            modelVersion: '',
          },
        ),
      /^datatype BYTES of output 't' is not supported by pitlane/,
    );
  });
});
