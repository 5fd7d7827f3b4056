// Pieces of ONNX graphs as onnx-proto objects, and the seeded normal samples their synthetic weights are drawn
// from, shared by the model builders (build-models.mjs, vision-models/*.mjs).
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

/** An FP32 initializer over the bytes of a Float32Array (no copy). */
export function floatTensor(name, dims, data) {
  return {
    name,
    dims,
    dataType: FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/** An INT64 initializer from numbers. */
export function int64Tensor(name, dims, values) {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims, dataType: INT64, rawData: new Uint8Array(data.buffer) };
}

/** A node attribute: string, list of ints, int or float, by the value's type. */
export function attr(name, value) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: A.INTS, ints: value };
  if (Number.isInteger(value)) return { name, type: A.INT, i: value };
  return { name, type: A.FLOAT, f: value };
}

/** A graph input or output: element type and dims (a string dim is symbolic). */
export function valueInfo(name, elemType, dims) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** n samples of N(0, std) by Box-Muller, straight into a Float32Array. */
export function normalArray(n, std, rand) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = rand() || 1e-12;
    const u2 = rand();
    const r = std * Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
