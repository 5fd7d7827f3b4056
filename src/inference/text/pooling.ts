/**
 * The post-processing every text-embedding model needs, whatever runs it: masked mean pooling of token vectors
 * into one vector per sequence, and L2 normalisation.
 */
/**
 * Mean of the token vectors of each row of `lastHidden` ([batch, seq, hidden], row-major) over the tokens
 * whose attention mask is 1 (padding is ignored). A row with no real token gives a zero vector.
 */
export function meanPool(
  lastHidden: Float32Array,
  dims: readonly number[],
  attentionMask: BigInt64Array | ArrayLike<number>,
): Float32Array[] {
  const [batch, seq, hidden] = dims;
  if (dims.length !== 3 || batch === undefined || seq === undefined || hidden === undefined) {
    throw new RangeError(`meanPool expects dims [batch, seq, hidden], got [${dims.join(', ')}]`);
  }
  if (lastHidden.length !== batch * seq * hidden || attentionMask.length !== batch * seq) {
    throw new RangeError(
      `meanPool: ${lastHidden.length} values and ${attentionMask.length} mask entries do not fit [${dims.join(', ')}]`,
    );
  }
  const out: Float32Array[] = [];
  // Accumulate in float64 so long sequences do not lose precision.
  const acc = new Float64Array(hidden);
  for (let b = 0; b < batch; b++) {
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < seq; t++) {
      if (Number(attentionMask[b * seq + t]) === 0) continue;
      count++;
      const base = (b * seq + t) * hidden;
      for (let h = 0; h < hidden; h++) acc[h] = (acc[h] ?? 0) + (lastHidden[base + h] ?? 0);
    }
    const v = new Float32Array(hidden);
    if (count > 0) for (let h = 0; h < hidden; h++) v[h] = (acc[h] ?? 0) / count;
    out.push(v);
  }
  return out;
}

/** The vector scaled to unit Euclidean length (a new array; a zero vector stays zero). */
export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(v.length);
  if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = (v[i] ?? 0) / norm;
  return out;
}
