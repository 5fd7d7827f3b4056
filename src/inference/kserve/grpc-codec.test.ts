import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InferenceInputError } from '../../core/errors.js';
import { TENSOR_DATATYPES, allocTensorData, type Tensor, type TensorDataType } from '../tensor/tensor.js';
import {
  decodeBytesElements,
  decodeInferRequest,
  decodeInferResponse,
  encodeBytesElements,
  encodeInferRequest,
  encodeInferResponse,
} from './grpc-codec.js';
import {
  inferenceService,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
} from './grpc-proto.js';

/** A tensor of `datatype` with small values (exact as Numbers in typed contents). */
function tensorOf(datatype: TensorDataType): Tensor {
  const data = allocTensorData(datatype, 6);
  for (let i = 0; i < 6; i++) {
    const v = datatype === 'BOOL' ? i % 2 : i * 3 - (datatype.startsWith('U') ? 0 : 7);
    data[i] = typeof data[0] === 'bigint' ? BigInt(v) : datatype === 'FP16' ? 0x3c00 + i : v;
  }
  return { name: datatype.toLowerCase(), datatype, shape: [2, 3], data };
}

/** Through protobuf's wire form and back, as grpc-js would carry it. */
function overTheWire(rpc: 'request', message: object): ModelInferRequestMessage;
function overTheWire(rpc: 'response', message: object): ModelInferResponseMessage;
function overTheWire(rpc: 'request' | 'response', message: object): object {
  const { ModelInfer } = inferenceService();
  return rpc === 'request'
    ? ModelInfer.requestDeserialize(ModelInfer.requestSerialize(message))
    : ModelInfer.responseDeserialize(ModelInfer.responseSerialize(message));
}

const same = (a: Tensor, b: Tensor): void => {
  assert.equal(b.name, a.name);
  assert.equal(b.datatype, a.datatype);
  assert.deepEqual(b.shape, a.shape);
  assert.deepEqual([...b.data], [...a.data]);
};

describe('grpc codec', () => {
  test('every datatype goes raw from the client to the server and back', () => {
    const inputs = TENSOR_DATATYPES.map(tensorOf);
    const msg = overTheWire('request', encodeInferRequest('m', { id: 'x', inputs, outputs: ['o'] }, '2'));
    assert.equal(msg.model_version, '2');
    const decoded = decodeInferRequest(msg);
    assert.equal(decoded.id, 'x');
    assert.deepEqual(decoded.outputs, ['o']);
    assert.equal(decoded.typedOutputs, false);
    decoded.inputs.forEach((t, i) => same(inputs[i]!, t));
    const result = { modelName: 'm', modelVersion: '2', outputs: inputs };
    const back = decodeInferResponse(overTheWire('response', encodeInferResponse(result, false)));
    back.outputs.forEach((t, i) => same(inputs[i]!, t));
  });

  test('typed contents both ways for every datatype but FP16 (which has no typed field)', () => {
    const tensors = TENSOR_DATATYPES.filter((d) => d !== 'FP16').map(tensorOf);
    const response = overTheWire(
      'response',
      encodeInferResponse({ modelName: 'm', modelVersion: '1', outputs: tensors }, true),
    );
    assert.deepEqual(response.raw_output_contents, []);
    decodeInferResponse(response).outputs.forEach((t, i) => same(tensors[i]!, t));
    // The same typed tensors as a request.
    const request = overTheWire('request', {
      model_name: 'm',
      inputs: response.outputs,
    });
    decodeInferRequest(request).inputs.forEach((t, i) => same(tensors[i]!, t));
    assert.throws(
      () => encodeInferResponse({ modelName: 'm', modelVersion: '1', outputs: [tensorOf('FP16')] }, true),
      /output 'fp16' is FP16, which has no typed contents field/,
    );
  });

  test('typed outputs are asked with binary_data_output: false, or binary_data: false on one output', () => {
    const base = { model_name: 'm', inputs: [] };
    assert.equal(
      decodeInferRequest({
        ...base,
        parameters: { binary_data_output: { bool_param: false, parameter_choice: 'bool_param' } },
      }).typedOutputs,
      true,
    );
    assert.equal(
      decodeInferRequest({
        ...base,
        parameters: { binary_data_output: { bool_param: true, parameter_choice: 'bool_param' } },
      }).typedOutputs,
      false,
    );
    assert.equal(
      decodeInferRequest({
        ...base,
        outputs: [
          { name: 'a' },
          { name: 'b', parameters: { binary_data: { bool_param: false, parameter_choice: 'bool_param' } } },
        ],
      }).typedOutputs,
      true,
    );
  });

  test('typed integers outside their datatype are refused by index', () => {
    const msg = overTheWire('request', {
      model_name: 'm',
      inputs: [{ name: 'a', datatype: 'INT8', shape: [3], contents: { int_contents: [1, -128, 200] } }],
    });
    assert.throws(
      () => decodeInferRequest(msg),
      /inputs\[0\] 'a': contents.int_contents\[2\] is 200, outside INT8's range -128 to 127/,
    );
  });

  test('raw and typed contents together are refused; an empty shape needs no elements', () => {
    const both = overTheWire('request', {
      model_name: 'm',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }],
      raw_input_contents: [Buffer.alloc(4)],
    });
    assert.throws(
      () => decodeInferRequest(both),
      /inputs\[0\] 'a': give its elements in raw_input_contents or in contents, not both/,
    );
    const empty = overTheWire('request', {
      model_name: 'm',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [0, 4] }],
    });
    assert.equal(decodeInferRequest(empty).inputs[0]!.data.length, 0);
    const huge = overTheWire('request', {
      model_name: 'm',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [2 ** 40, 2 ** 40] }],
      raw_input_contents: [Buffer.alloc(4)],
    });
    assert.throws(() => decodeInferRequest(huge), /holds more elements than can be sent/);
  });

  test('BYTES elements: 4-byte little-endian lengths, framing errors named', () => {
    const elements = [Buffer.from('héllo'), Buffer.alloc(0), Buffer.from([0, 255])];
    const raw = encodeBytesElements(elements);
    assert.equal(raw.byteLength, 12 + 6 + 0 + 2);
    assert.deepEqual(
      decodeBytesElements(raw, 3, 'x').map((e) => [...e]),
      elements.map((e) => [...e]),
    );
    assert.throws(() => decodeBytesElements(raw, 2, 'x'), /x: BYTES raw contents go on after its 2 elements/);
    assert.throws(
      () => decodeBytesElements(raw.subarray(0, 2), 1, 'x'),
      /BYTES element 0 has a cut-off length prefix/,
    );
    assert.throws(
      () => decodeBytesElements(raw.subarray(0, 7), 1, 'x'),
      /BYTES element 0 declares 6 bytes, 3 are left/,
    );
    assert.throws(
      () => decodeBytesElements(raw, 4, 'x'),
      (err: Error) => err instanceof InferenceInputError,
    );
  });
});
