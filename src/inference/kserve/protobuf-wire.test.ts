import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inferenceService } from './grpc-proto.js';
import { ANY_MESSAGE, MODEL_INFER_REQUEST, WireFormatError, checkWireFormat } from './protobuf-wire.js';

/** A ModelInferRequest with every kind of field: parameters, typed and raw contents, requested outputs. */
function sampleRequest(): Buffer {
  return inferenceService().ModelInfer.requestSerialize({
    model_name: 'm',
    id: 'r',
    parameters: { p: { int64_param: 3 }, q: { double_param: 0.5 } },
    inputs: [
      { name: 'a', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } },
      { name: 'b', datatype: 'INT64', shape: [2], contents: { int64_contents: [-1, 2 ** 40] } },
      { name: 'c', datatype: 'FP64', shape: [1], contents: { fp64_contents: [3] } },
    ],
    outputs: [{ name: 'o', parameters: { binary_data: { bool_param: false } } }],
  });
}

describe('protobuf wire check', () => {
  test('a well-formed ModelInferRequest passes, with raw contents too', () => {
    checkWireFormat(sampleRequest(), MODEL_INFER_REQUEST);
    const raw = inferenceService().ModelInfer.requestSerialize({
      model_name: 'm',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [1] }],
      raw_input_contents: [Buffer.alloc(4)],
    });
    checkWireFormat(raw, MODEL_INFER_REQUEST);
    checkWireFormat(Buffer.alloc(0), MODEL_INFER_REQUEST);
  });

  test('cut anywhere, a message is either whole at a field boundary or refused with a WireFormatError', () => {
    const bytes = sampleRequest();
    let refused = 0;
    for (let n = 0; n < bytes.byteLength; n++) {
      try {
        checkWireFormat(bytes.subarray(0, n), MODEL_INFER_REQUEST);
      } catch (err) {
        assert.ok(err instanceof WireFormatError, String(err));
        refused++;
      }
    }
    assert.ok(refused > bytes.byteLength / 2, `${refused} of ${bytes.byteLength} cuts refused`);
  });

  test('what is wrong, and where', () => {
    const bad = (bytes: number[], message: RegExp, spec = MODEL_INFER_REQUEST): void => {
      assert.throws(() => {
        checkWireFormat(Buffer.from(bytes), spec);
      }, message);
    };
    bad([0x0a, 0x10, 0x01], /model_name \(field 1\) declares 16 bytes, 1 are left$/);
    bad([0x08, 0x01], /model_name \(field 1\) has wire type 0, expected 2$/);
    bad([0x00], /field number 0/);
    bad([0x0b], /field 1 has wire type 3|model_name \(field 1\) has wire type 3/);
    bad([0x78, ...Array<number>(11).fill(0xff)], /longer than 10 bytes/);
    bad(
      [0x2a, 0x04, 0x2a, 0x02, 0x32, 0x03],
      /inputs\[0\]\.contents: fp32_contents \(field 6\) declares 3 bytes, 0 are left$/,
    );
    bad(
      [0x2a, 0x05, 0x2a, 0x03, 0x32, 0x01, 0x00],
      /inputs\[0\]\.contents: fp32_contents \(field 6\) holds 1 bytes, not a whole number of 4-byte elements$/,
    );
    bad([0x2a, 0x03, 0x1a, 0x01, 0x80], /inputs\[0\]: an element of shape \(field 3\) is cut off/);
    bad([0x0d, 0x01], /field 1 needs 4 bytes, 1 are left/, ANY_MESSAGE);
  });
});
