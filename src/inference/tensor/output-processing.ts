/**
 * What a served output may go through on its way out, whatever backend computed it (`outputs` in models.yaml):
 * global average pooling of a feature map to one vector per batch element, and L2 normalisation of each row.
 * The backends' tensor models call `postProcessOutput` on every output they return.
 */
import type { TensorOutputSpec } from './model-repository.js';
import type { TensorData, TensorDataType } from './tensor.js';

/**
 * Global average pooling of a feature map to [batch, C]: `channelsLast` for TF.js's NHWC, else NCHW (ONNX).
 * Accumulates in float64.
 */
export function globalAveragePool(
  data: Float32Array,
  shape: readonly number[],
  channelsLast: boolean,
): { data: Float32Array; shape: number[] } {
  if (shape.length !== 4) {
    throw new Error(`global_average pooling needs a 4-d feature map, got shape [${shape.join(', ')}]`);
  }
  const [b = 0, d1 = 0, d2 = 0, d3 = 0] = shape;
  const c = channelsLast ? d3 : d1;
  const hw = channelsLast ? d1 * d2 : d2 * d3;
  const out = new Float32Array(b * c);
  const acc = new Float64Array(c);
  for (let n = 0; n < b; n++) {
    acc.fill(0);
    const base = n * c * hw;
    if (channelsLast) {
      for (let p = 0; p < hw; p++) {
        const at = base + p * c;
        for (let k = 0; k < c; k++) acc[k] = (acc[k] ?? 0) + (data[at + k] ?? 0);
      }
    } else {
      for (let k = 0; k < c; k++) {
        let s = 0;
        const at = base + k * hw;
        for (let p = 0; p < hw; p++) s += data[at + p] ?? 0;
        acc[k] = s;
      }
    }
    for (let k = 0; k < c; k++) out[n * c + k] = (acc[k] ?? 0) / hw;
  }
  return { data: out, shape: [b, c] };
}

/** L2-normalises each row of a [rows, dim] matrix in place (zero rows stay zero). */
export function normalizeRows(data: Float32Array, dim: number): void {
  for (let at = 0; at < data.length; at += dim) {
    let sum = 0;
    for (let i = at; i < at + dim; i++) sum += (data[i] ?? 0) ** 2;
    if (sum === 0) continue;
    const inv = 1 / Math.sqrt(sum);
    for (let i = at; i < at + dim; i++) data[i] = (data[i] ?? 0) * inv;
  }
}

/**
 * An output as served: pooled and/or normalised as its spec says (`channelsLast`: the backend's feature maps are
 * NHWC), else as computed. Throws when pooling or normalising is asked of a tensor that is not FP32.
 */
export function postProcessOutput(
  spec: TensorOutputSpec | undefined,
  datatype: TensorDataType,
  data: TensorData,
  shape: readonly number[],
  channelsLast: boolean,
): { data: TensorData; shape: readonly number[] } {
  if (spec === undefined || (spec.pool === null && !spec.normalize)) return { data, shape };
  if (datatype !== 'FP32')
    throw new Error(`output '${spec.name}': pooling and normalising need FP32, got ${datatype}`);
  let out = { data: data as Float32Array, shape };
  if (spec.pool === 'global_average') out = globalAveragePool(out.data, shape, channelsLast);
  else if (spec.normalize) out = { data: Float32Array.from(out.data), shape };
  if (spec.normalize) normalizeRows(out.data, out.shape[out.shape.length - 1] ?? 1);
  return out;
}

/** Output metadata after pooling: [b, H, W, C] → [b, C] (NHWC) or [b, C, H, W] → [b, C]. */
export function pooledShape(shape: readonly number[], channelsLast: boolean): number[] {
  return [shape[0] ?? -1, (channelsLast ? shape[3] : shape[1]) ?? -1];
}

/** A served output that is the graph node of the same name, as it is (no pooling, no normalising). */
export function plainOutput(name: string): TensorOutputSpec {
  return { name, node: name, pool: null, normalize: false };
}
