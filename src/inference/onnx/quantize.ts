/**
 * Dynamic int8 quantisation of an ONNX model's matrix products (`pitlane quantize`): each MatMul or Gemm whose
 * weight B is a constant (an initializer or a Constant node) becomes ONNX Runtime's contrib op
 * `com.microsoft.DynamicQuantizeMatMul`, which quantises A to uint8 at run time and multiplies it with B stored
 * as int8. B is quantised symmetrically per output channel: one scale per column, `max |B[:, j]| / 127`, values
 * in [-127, 127], zero points 0. A following Add of a constant [N] bias is folded into the op when it is the
 * product's only consumer (and a Gemm's C becomes that bias). Every other node, initializer and field is copied
 * as it was read.
 *
 * Why here and not onnxruntime's Python quantiser: pitlane must run it at install time without Python; the
 * rewrite is small once the model is read with `onnx-proto` (the project's ONNX tooling, protobufjs). Reading
 * keeps the weights as views into the file's bytes (protobufjs slices bytes fields), and they are read through a
 * DataView in place, so a weight is never copied before its int8 version is written.
 *
 * What it does not do: static quantisation (calibrated activation scales), convolutions, QDQ graphs, weights
 * inside subgraphs (If/Loop bodies are copied unchanged), models whose tensors live in external data files.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import { FileError, toError, UsageError } from '../../core/errors.js';
import { DEFAULT_MIN_ELEMENTS, type QuantizeOptions } from './quantize-options.js';

export { DEFAULT_MIN_ELEMENTS, type QuantizeOptions } from './quantize-options.js';

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type Attribute = onnxProto.onnx.IAttributeProto;
type IntLike = number | { toNumber(): number };

const DT = onnx.TensorProto.DataType;
const MS_DOMAIN = 'com.microsoft';
/** The newest IR version whose fields `onnx-proto` (onnx 1.10.2's schema) knows; later fields are not read. */
const KNOWN_IR_VERSION = 8;

/** A MatMul or Gemm that became a DynamicQuantizeMatMul. */
export interface QuantizedNode {
  /** The node's name (its first output's name when it has none); the new node keeps it. */
  readonly name: string;
  readonly opType: 'MatMul' | 'Gemm';
  /** The FP32 weight it read. */
  readonly weight: string;
  /** The int8 weight's dims, [K, N]: N columns, N scales. */
  readonly shape: readonly [number, number];
  /** The bias folded into the op (an Add's constant, or a Gemm's C), or null. */
  readonly bias: string | null;
}

/** A MatMul or Gemm left in FP32, and why. */
export interface KeptNode {
  readonly name: string;
  readonly opType: string;
  readonly reason: string;
}

/** What `quantizeOnnxModel` did. */
export interface QuantizeSummary {
  /** How many MatMul/Gemm nodes were rewritten. */
  readonly nodesQuantized: number;
  /** How many were left in FP32 (`kept` says why). */
  readonly nodesKept: number;
  readonly quantized: readonly QuantizedNode[];
  readonly kept: readonly KeptNode[];
  /** Size of the model file read, and of the one written. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** The FP32 bytes of the weights quantised, and the bytes of their int8 weights, scales and zero points. */
  readonly weightBytesBefore: number;
  readonly weightBytesAfter: number;
  /** Things the user should know that did not stop the rewrite. */
  readonly warnings: readonly string[];
}

const num = (v: IntLike | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber();

const nodeLabel = (node: Node): string => node.name || node.output?.[0] || '(unnamed)';

function attribute(node: Node, name: string): Attribute | undefined {
  return node.attribute?.find((a) => a.name === name) ?? undefined;
}

/** Names an outer graph's value may be read by from inside a node's subgraphs (If/Loop/Scan bodies). */
function subgraphReads(node: Node, into: Set<string>): void {
  for (const a of node.attribute ?? []) {
    for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) {
      for (const inner of g.node ?? []) {
        for (const name of inner.input ?? []) if (name) into.add(name);
        subgraphReads(inner, into);
      }
      for (const out of g.output ?? []) if (out.name) into.add(out.name);
    }
  }
}

function isExternal(t: TensorProto): boolean {
  return t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0;
}

/** Refuses a model that keeps tensors in external files, naming the first such tensor and where it is. */
function refuseExternalData(graph: Graph, source: string): void {
  const check = (t: TensorProto, where: string) => {
    if (!isExternal(t)) return;
    const location = t.externalData?.find((e) => e.key === 'location')?.value ?? '?';
    throw new FileError(
      source,
      `${where} keeps its data in an external file ('${location}'); pitlane quantize reads models whose tensors are inside the .onnx file (save it without external data first)`,
    );
  };
  const walk = (g: Graph) => {
    for (const t of g.initializer ?? []) check(t, `initializer '${t.name ?? ''}'`);
    for (const node of g.node ?? []) {
      for (const a of node.attribute ?? []) {
        if (a.t) check(a.t, `node '${nodeLabel(node)}' (${node.opType ?? ''})`);
        for (const t of a.tensors ?? []) check(t, `node '${nodeLabel(node)}' (${node.opType ?? ''})`);
        if (a.g) walk(a.g);
        for (const sub of a.graphs ?? []) walk(sub);
      }
    }
  };
  walk(graph);
}

/** The FP32 values of a tensor, read in place (raw little-endian bytes) or from its float_data. */
interface FloatReader {
  readonly length: number;
  at(i: number): number;
}

function floatReader(t: TensorProto, expected: number, where: () => string, source: string): FloatReader {
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== expected * 4) {
      throw new FileError(
        source,
        `${where()}: weight '${t.name ?? ''}' has ${raw.length} bytes of data, but its dims [${(t.dims ?? []).map(num).join(', ')}] need ${expected * 4}`,
      );
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return { length: expected, at: (i) => view.getFloat32(i * 4, true) };
  }
  const data = t.floatData ?? [];
  if (data.length !== expected) {
    throw new FileError(
      source,
      `${where()}: weight '${t.name ?? ''}' has ${data.length} values, but its dims [${(t.dims ?? []).map(num).join(', ')}] need ${expected}`,
    );
  }
  return { length: expected, at: (i) => data[i] ?? 0 };
}

/** B (or Bᵀ when `transposed`) quantised per column: int8 [K, N], one scale per column times `alpha`. */
interface QuantizedWeight {
  readonly values: Int8Array;
  readonly scales: Float32Array;
}

/**
 * Symmetric per-column int8 of a [K, N] matrix (`transposed`: the matrix is stored [N, K], as a Gemm's B with
 * transB = 1; the result is [K, N] either way). A column of zeros gets scale 1 and zeros.
 */
export function quantizePerColumn(
  b: FloatReader,
  k: number,
  n: number,
  transposed: boolean,
  alpha = 1,
): QuantizedWeight {
  const at = transposed
    ? (row: number, col: number) => col * k + row
    : (row: number, col: number) => row * n + col;
  const absMax = new Float32Array(n);
  for (let i = 0; i < b.length; i++) {
    const col = transposed ? Math.floor(i / k) : i % n;
    const a = Math.abs(b.at(i));
    if (!(a < Infinity)) throw new RangeError(`column ${col} has a value that is not finite (${b.at(i)})`);
    if (a > (absMax[col] ?? 0)) absMax[col] = a;
  }
  const scales = new Float32Array(n);
  const inverse = new Float64Array(n);
  for (let col = 0; col < n; col++) {
    const max = absMax[col] ?? 0;
    const scale = max === 0 ? 1 : max / 127;
    scales[col] = scale * alpha;
    inverse[col] = max === 0 ? 0 : 127 / max;
  }
  const values = new Int8Array(k * n);
  for (let row = 0; row < k; row++) {
    for (let col = 0; col < n; col++) {
      const q = Math.round(b.at(at(row, col)) * (inverse[col] ?? 0));
      values[row * n + col] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { values, scales };
}

const bytesOf = (a: Int8Array | Float32Array): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Quantises the MatMul/Gemm weights of a serialised ONNX model. `source` names the model in errors. Throws
 * FileError (not an ONNX model, external data, a weight whose data does not fit its dims, a non-finite weight)
 * or UsageError (an `exclude` name that is no node of the graph).
 */
export function quantizeOnnxModel(
  bytes: Uint8Array,
  source: string,
  options: QuantizeOptions = {},
): { bytes: Uint8Array; summary: QuantizeSummary } {
  const minElements = options.minElements ?? DEFAULT_MIN_ELEMENTS;
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new FileError(source, `is not an ONNX model (${toError(err).message})`, { cause: err });
  }
  const graph = model.graph;
  if (!graph || (graph.node?.length ?? 0) === 0) {
    throw new FileError(source, 'is not an ONNX model: it has no graph (or a graph without nodes)');
  }
  refuseExternalData(graph, source);
  const irVersion = num(model.irVersion);
  const warnings: string[] = [];
  if (irVersion > KNOWN_IR_VERSION) {
    warnings.push(
      `IR version ${irVersion} is newer than the schema pitlane reads (IR ${KNOWN_IR_VERSION}, onnx 1.10): fields added since are not copied; check the output with onnxruntime`,
    );
  }
  const nodes = graph.node ?? [];
  const initializers = graph.initializer ?? [];

  const exclude = new Set(options.exclude ?? []);
  const names = new Set(nodes.map(nodeLabel));
  for (const name of exclude) {
    if (!names.has(name)) throw new UsageError(`--exclude '${name}': ${source} has no node of that name`);
  }

  // Constants: initializers (unless a graph input of the same name may override them, IR >= 4) and Constant nodes.
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const constants = new Map<string, TensorProto>();
  for (const t of initializers) {
    if (t.name && !(irVersion >= 4 && graphInputs.has(t.name))) {
      constants.set(t.name, t);
    }
  }
  for (const node of nodes) {
    const value = node.opType === 'Constant' && !node.domain ? attribute(node, 'value')?.t : undefined;
    const out = node.output?.[0];
    if (value && out) constants.set(out, value);
  }

  // Who reads each value: nodes, graph outputs, subgraphs.
  const consumers = new Map<string, Node[]>();
  for (const node of nodes) {
    for (const name of node.input ?? [])
      if (name) consumers.set(name, [...(consumers.get(name) ?? []), node]);
  }
  const pinned = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  for (const node of nodes) subgraphReads(node, pinned);

  // Every name in use, so that the new initializers get fresh ones.
  const taken = new Set<string>([...graphInputs, ...initializers.map((t) => t.name ?? '')]);
  for (const node of nodes) for (const o of node.output ?? []) taken.add(o);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };

  const floatVector = (name: string | null | undefined, n: number): TensorProto | undefined => {
    const c = name ? constants.get(name) : undefined;
    if (!c || c.dataType !== DT.FLOAT) return undefined;
    const dims = (c.dims ?? []).map(num);
    return dims.length === 1 && dims[0] === n ? c : undefined;
  };

  const quantized: QuantizedNode[] = [];
  const kept: KeptNode[] = [];
  const replaced = new Map<Node, Node | null>(); // old node -> new node, or null: removed
  const newInitializers: TensorProto[] = [];
  const touched = new Set<string>(); // constants that may have lost their last reader
  const folded = new Set<string>(); // products whose Add was folded: no node makes them any more
  const cache = new Map<string, { values: string; scales: string; zeroPoints: string }>();
  let weightBytesBefore = 0;
  let weightBytesAfter = 0;

  for (const node of nodes) {
    const opType = node.opType ?? '';
    if ((opType !== 'MatMul' && opType !== 'Gemm') || (node.domain ?? '') !== '') continue;
    const name = nodeLabel(node);
    const keep = (reason: string) => kept.push({ name, opType, reason });
    if (exclude.has(name)) {
      keep('excluded (--exclude)');
      continue;
    }
    const [aName, bName, cName] = node.input ?? [];
    const out = node.output?.[0];
    const b = bName ? constants.get(bName) : undefined;
    if (!aName || !bName || !out || !b) {
      keep('B is computed in the graph, not a constant');
      continue;
    }
    if (b.dataType !== DT.FLOAT) {
      keep(`B is ${DT[b.dataType ?? 0] ?? String(b.dataType)}, not FLOAT`);
      continue;
    }
    const dims = (b.dims ?? []).map(num);
    if (dims.length !== 2) {
      keep(`B has ${dims.length} dims; per-column scales need a 2-D weight`);
      continue;
    }
    const elements = (dims[0] ?? 0) * (dims[1] ?? 0);
    if (elements < minElements) {
      keep(`B has ${elements} elements, fewer than the minimum ${minElements}`);
      continue;
    }
    const transB = opType === 'Gemm' && num(attribute(node, 'transB')?.i) !== 0;
    const [k, n] = transB ? [dims[1] ?? 0, dims[0] ?? 0] : [dims[0] ?? 0, dims[1] ?? 0];
    let alpha = 1;
    let bias: string | null = null;
    let biasScale = 1;
    let output = out;
    let position: Node = node;
    if (opType === 'Gemm') {
      if (num(attribute(node, 'transA')?.i) !== 0) {
        keep('Gemm with transA = 1');
        continue;
      }
      alpha = attribute(node, 'alpha')?.f ?? 1;
      const beta = attribute(node, 'beta')?.f ?? 1;
      if (cName && beta !== 0) {
        if (!floatVector(cName, n)) {
          keep(`C is not a constant FLOAT [${n}] bias`);
          continue;
        }
        bias = cName;
        biasScale = beta;
      }
    } else {
      // Fold `Add(MatMul(A, B), bias)` when the Add is the product's only reader.
      const readers = consumers.get(out) ?? [];
      const add = readers[0];
      if (
        readers.length === 1 &&
        add?.opType === 'Add' &&
        !add.domain &&
        !pinned.has(out) &&
        add.output?.[0]
      ) {
        const other = add.input?.[0] === out ? add.input[1] : add.input?.[0];
        if (add.input?.length === 2 && other !== out && floatVector(other, n)) {
          bias = other ?? null;
          folded.add(out);
          output = add.output[0];
          position = add;
        }
      }
    }

    const where = () => `node '${name}' (${opType})`;
    const cacheKey = `${bName}\u0000${transB ? 1 : 0}\u0000${alpha}`;
    let q = cache.get(cacheKey);
    if (!q) {
      let w: QuantizedWeight;
      try {
        w = quantizePerColumn(floatReader(b, elements, where, source), k, n, transB, alpha);
      } catch (err) {
        if (err instanceof RangeError)
          throw new FileError(source, `${where()}: weight '${bName}': ${err.message}`);
        throw err;
      }
      q = {
        values: fresh(`${bName}_int8`),
        scales: fresh(`${bName}_scale`),
        zeroPoints: fresh(`${bName}_zero_point`),
      };
      newInitializers.push(
        { name: q.values, dims: [k, n], dataType: DT.INT8, rawData: bytesOf(w.values) },
        { name: q.scales, dims: [n], dataType: DT.FLOAT, rawData: bytesOf(w.scales) },
        { name: q.zeroPoints, dims: [n], dataType: DT.INT8, rawData: new Uint8Array(n) },
      );
      cache.set(cacheKey, q);
      weightBytesBefore += elements * 4;
      weightBytesAfter += elements + n * 5;
    }
    touched.add(bName);
    if (bias !== null && biasScale !== 1) {
      // A Gemm's beta · C, as a new [N] bias (C is small).
      const c = constants.get(bias);
      const reader = c ? floatReader(c, n, where, source) : undefined;
      const scaled = new Float32Array(n);
      for (let i = 0; i < n; i++) scaled[i] = (reader?.at(i) ?? 0) * biasScale;
      touched.add(bias);
      bias = fresh(`${bias}_beta`);
      newInitializers.push({ name: bias, dims: [n], dataType: DT.FLOAT, rawData: bytesOf(scaled) });
    }
    const rewritten: Node = {
      name: node.name ?? '',
      opType: 'DynamicQuantizeMatMul',
      domain: MS_DOMAIN,
      input: [aName, q.values, q.scales, q.zeroPoints, ...(bias !== null ? [bias] : [])],
      output: [output],
      docString: `pitlane quantize: int8 per-column of ${opType} '${name}'`,
    };
    // The new node takes the place of the later of the two it replaces, where the bias is known to exist.
    replaced.set(node, position === node ? rewritten : null);
    if (position !== node) replaced.set(position, rewritten);
    quantized.push({ name, opType, weight: bName, shape: [k, n], bias });
  }

  if (quantized.length > 0) {
    const rewrittenNodes: Node[] = [];
    for (const node of nodes) {
      const r = replaced.get(node);
      if (r === undefined) rewrittenNodes.push(node);
      else if (r !== null) rewrittenNodes.push(r);
    }
    // Drop the FP32 weights (and their Constant nodes) that nothing reads any more.
    const read = new Set(pinned);
    for (const node of rewrittenNodes) for (const name of node.input ?? []) read.add(name);
    const unread = (name: string) => touched.has(name) && !read.has(name);
    graph.node = rewrittenNodes.filter(
      (node) => !(node.opType === 'Constant' && unread(node.output?.[0] ?? '')),
    );
    graph.initializer = [...initializers.filter((t) => !unread(t.name ?? '')), ...newInitializers];
    if (irVersion < 4) {
      // IR 3 lists every initializer among the graph's inputs.
      graph.input = [
        ...(graph.input ?? []).filter((i) => !unread(i.name ?? '')),
        ...newInitializers.map((t) => ({
          name: t.name ?? '',
          type: {
            tensorType: {
              elemType: t.dataType ?? 0,
              shape: { dim: (t.dims ?? []).map((d) => ({ dimValue: d })) },
            },
          },
        })),
      ];
    }
    // Shapes recorded for the values that are gone: the products whose Add was folded.
    graph.valueInfo = (graph.valueInfo ?? []).filter((v) => !folded.has(v.name ?? ''));
    if (!model.opsetImport.some((o) => o.domain === MS_DOMAIN))
      model.opsetImport = [...model.opsetImport, { domain: MS_DOMAIN, version: 1 }];
  }

  const outBytes = onnx.ModelProto.encode(model).finish();
  return {
    bytes: outBytes,
    summary: {
      nodesQuantized: quantized.length,
      nodesKept: kept.length,
      quantized,
      kept,
      bytesBefore: bytes.length,
      bytesAfter: outBytes.length,
      weightBytesBefore,
      weightBytesAfter,
      warnings,
    },
  };
}

/**
 * Reads `input`, quantises it and writes `output` (through a temporary file beside it, renamed at the end, so
 * that a failed write leaves no half model; `output` may be `input`).
 */
export async function quantizeOnnxFile(
  input: string,
  output: string,
  options: QuantizeOptions = {},
): Promise<QuantizeSummary> {
  let bytes: Buffer;
  try {
    bytes = await readFile(input);
  } catch (err) {
    throw new FileError(input, `cannot read the model (${toError(err).message})`, { cause: err });
  }
  const result = quantizeOnnxModel(bytes, input, options);
  const partial = `${output}.partial-${process.pid}`;
  try {
    await writeFile(partial, result.bytes);
    await rename(partial, output);
  } catch (err) {
    await rm(partial, { force: true });
    throw new FileError(output, `cannot write the quantised model (${toError(err).message})`, { cause: err });
  }
  return result.summary;
}
