/**
 * Batching tensors along their first dimension: the inputs of several requests concatenated into one batch, and
 * a batch's outputs split back into each request's part.
 */
import { allocTensorData, type Tensor, type TensorData } from './tensor.js';

/** Concatenates each input of several requests along the first dimension. */
export function concatenateBatch(requests: readonly (readonly Tensor[])[]): Tensor[] {
  const first = requests[0] ?? [];
  return first.map((t, i) => {
    const parts = requests.map((r) => r[i] as Tensor);
    const rows = parts.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
    const data = allocTensorData(
      t.datatype,
      parts.reduce((n, p) => n + p.data.length, 0),
    );
    let at = 0;
    for (const p of parts) {
      (data as unknown as { set(a: TensorData, o: number): void }).set(p.data, at);
      at += p.data.length;
    }
    return { name: t.name, datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data };
  });
}

/** Splits each output along the first dimension back into the requests' parts. */
export function splitBatch(
  outputs: readonly Tensor[],
  sizes: readonly number[],
  total: number,
  model: string,
): Tensor[][] {
  const parts: Tensor[][] = sizes.map(() => []);
  for (const o of outputs) {
    if (o.shape[0] !== total) {
      throw new Error(
        `model ${model}: output '${o.name}' has first dimension ${o.shape[0]}, expected the batch size ${total}`,
      );
    }
    const per = o.data.length / total;
    let row = 0;
    sizes.forEach((n, i) => {
      parts[i]?.push({
        ...o,
        shape: [n, ...o.shape.slice(1)],
        data: o.data.slice(row * per, (row + n) * per),
      });
      row += n;
    });
  }
  return parts;
}
