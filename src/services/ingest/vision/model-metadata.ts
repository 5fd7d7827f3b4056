/**
 * How the vision adapters read a model's KServe metadata: which image layouts an input takes, its fixed side,
 * a one-line description for errors, and the image tensor of one prepared image in the input's datatype.
 */
import type { Tensor, TensorMetadata } from '../../../inference/tensor/tensor.js';

export function isBytesImage(m: TensorMetadata | undefined): boolean {
  return (
    m !== undefined &&
    (m.datatype === 'INT32' || m.datatype === 'UINT8') &&
    m.shape.length === 4 &&
    m.shape[3] === 3
  );
}

export function isFloatImage(m: TensorMetadata | undefined): boolean {
  return m !== undefined && m.datatype === 'FP32' && m.shape.length === 4 && m.shape[1] === 3;
}

export function side(m: TensorMetadata, axis: number): number | null {
  const d = m.shape[axis];
  return d !== undefined && d > 0 ? d : null;
}

export function describe(list: readonly TensorMetadata[]): string {
  return list.map((m) => `${m.name} ${m.datatype} [${m.shape.join(', ')}]`).join('; ');
}

/** An image tensor of batch 1 from prepared pixels, converted to what the input takes. */
export function imageTensor(input: TensorMetadata, data: Float32Array | Uint8Array, size: number): Tensor {
  if (input.datatype === 'FP32') {
    if (!(data instanceof Float32Array)) throw new Error('internal: a float model got byte pixels');
    return { name: input.name, datatype: 'FP32', shape: [1, 3, size, size], data };
  }
  if (!(data instanceof Uint8Array)) throw new Error('internal: a byte model got float pixels');
  return input.datatype === 'UINT8'
    ? { name: input.name, datatype: 'UINT8', shape: [1, size, size, 3], data }
    : { name: input.name, datatype: 'INT32', shape: [1, size, size, 3], data: Int32Array.from(data) };
}
