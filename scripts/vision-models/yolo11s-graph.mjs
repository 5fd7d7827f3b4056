// The YOLO11s graph: Ultralytics' yolo11.yaml at scale s (YOLO11S_SHAPE) built layer by layer as
// `yolo export format=onnx` writes it (BatchNorm folded into every Conv, SiLU as Sigmoid * Mul, the Detect head
// with DFL decoding to xywh in input pixels), with synthetic weights calibrated by GraphBuilder. Owns the
// architecture only; yolo11s.mjs writes the model folder.
import { FLOAT, valueInfo } from '../onnx-helpers.mjs';
// COCO names for the metadata Ultralytics writes; the build runs after `npm run build`, so dist/ exists.
import { COCO_CLASSES } from '../../dist/inference/vision/coco.js';
import { GraphBuilder, makeDivisible } from './graph-builder.mjs';

/** yolo11.yaml, scale s. `from`, `repeats`, `module`, `args` as in the yaml; channels before width scaling. */
export const YOLO11S_SHAPE = Object.freeze({
  scale: 's',
  depthMultiple: 0.5,
  widthMultiple: 0.5,
  maxChannels: 1024,
  nc: 80,
  regMax: 16,
  imgsz: 640,
  strides: [8, 16, 32],
  layers: [
    // backbone
    [-1, 1, 'Conv', [64, 3, 2]], // 0-P1/2
    [-1, 1, 'Conv', [128, 3, 2]], // 1-P2/4
    [-1, 2, 'C3k2', [256, false, 0.25]],
    [-1, 1, 'Conv', [256, 3, 2]], // 3-P3/8
    [-1, 2, 'C3k2', [512, false, 0.25]],
    [-1, 1, 'Conv', [512, 3, 2]], // 5-P4/16
    [-1, 2, 'C3k2', [512, true]],
    [-1, 1, 'Conv', [1024, 3, 2]], // 7-P5/32
    [-1, 2, 'C3k2', [1024, true]],
    [-1, 1, 'SPPF', [1024, 5]], // 9
    [-1, 2, 'C2PSA', [1024]], // 10
    // head
    [-1, 1, 'Upsample', [null, 2, 'nearest']],
    [[-1, 6], 1, 'Concat', [1]], // cat backbone P4
    [-1, 2, 'C3k2', [512, false]], // 13
    [-1, 1, 'Upsample', [null, 2, 'nearest']],
    [[-1, 4], 1, 'Concat', [1]], // cat backbone P3
    [-1, 2, 'C3k2', [256, false]], // 16 (P3/8-small)
    [-1, 1, 'Conv', [256, 3, 2]],
    [[-1, 13], 1, 'Concat', [1]], // cat head P4
    [-1, 2, 'C3k2', [512, false]], // 19 (P4/16-medium)
    [-1, 1, 'Conv', [512, 3, 2]],
    [[-1, 10], 1, 'Concat', [1]], // cat head P5
    [-1, 2, 'C3k2', [1024, true]], // 22 (P5/32-large)
    [[16, 19, 22], 1, 'Detect', ['nc']], // Detect(P3, P4, P5)
  ],
});

// YOLO11s (Ultralytics ultralytics/nn/modules: conv.py Conv, block.py Bottleneck / C3k / C3k2 / SPPF / C2PSA /
// PSABlock / Attention / DFL, head.py Detect), fused for export: every Conv is Conv2d(bias) + SiLU.

/** The exported graph and its architecture summary. */
export async function buildYolo11sGraph(seed) {
  const S = YOLO11S_SHAPE;
  const g = new GraphBuilder(seed);
  const width = (c) => makeDivisible(Math.min(c, S.maxChannels) * S.widthMultiple, 8);
  const depth = (n) => (n > 1 ? Math.max(Math.round(n * S.depthMultiple), 1) : n);

  /** Ultralytics Conv: Conv2d + BatchNorm2d (folded) + SiLU (act=False: none). */
  const Conv = (x, prefix, c2, k = 1, s = 1, { groups = 1, act = true } = {}) => {
    const y = g.conv(x, `${prefix}.conv`, { cout: c2, k, s, groups, bn: true });
    return act ? g.silu(y) : y;
  };
  const Bottleneck = (x, prefix, c2, shortcut, k = [3, 3], e = 0.5) => {
    const c = Math.trunc(c2 * e);
    const y = Conv(Conv(x, `${prefix}.cv1`, c, k[0]), `${prefix}.cv2`, c2, k[1]);
    return shortcut && x.c === c2 ? g.add(x, y) : y;
  };
  /** C3k: a C3 whose bottlenecks use kernel k (3) with e=1.0. */
  const C3k = (x, prefix, c2, n, shortcut, e = 0.5, k = 3) => {
    const c = Math.trunc(c2 * e);
    let m = Conv(x, `${prefix}.cv1`, c);
    for (let i = 0; i < n; i++) m = Bottleneck(m, `${prefix}.m.${i}`, c, shortcut, [k, k], 1.0);
    return Conv(g.concat([m, Conv(x, `${prefix}.cv2`, c)]), `${prefix}.cv3`, c2);
  };
  /** C3k2: C2f (cv1 -> chunk(2) -> n blocks on the last chunk -> concat -> cv2) with C3k or Bottleneck blocks. */
  const C3k2 = (x, prefix, c2, n, c3k, e = 0.5, shortcut = true) => {
    const c = Math.trunc(c2 * e);
    const ys = g.split(Conv(x, `${prefix}.cv1`, 2 * c), [c, c]);
    for (let i = 0; i < n; i++) {
      const last = ys[ys.length - 1];
      ys.push(
        c3k
          ? C3k(last, `${prefix}.m.${i}`, c, 2, shortcut)
          : Bottleneck(last, `${prefix}.m.${i}`, c, shortcut),
      );
    }
    return Conv(g.concat(ys), `${prefix}.cv2`, c2);
  };
  const SPPF = (x, prefix, c2, k) => {
    const ys = [Conv(x, `${prefix}.cv1`, x.c / 2)];
    for (let i = 0; i < 3; i++)
      ys.push(
        g.map(ys[i], 'MaxPool', [], {
          kernel_shape: [k, k],
          strides: [1, 1],
          pads: [k >> 1, k >> 1, k >> 1, k >> 1],
        }),
      );
    return Conv(g.concat(ys), `${prefix}.cv2`, c2);
  };
  /** Attention (block.py): qkv 1x1, per-head q/k of key_dim = head_dim * attn_ratio, v of head_dim, dw-3x3 pe on v. */
  const Attention = (x, prefix, numHeads, attnRatio = 0.5) => {
    const headDim = x.c / numHeads;
    const keyDim = Math.trunc(headDim * attnRatio);
    const n = x.h * x.w;
    const qkv = Conv(x, `${prefix}.qkv`, x.c + 2 * keyDim * numHeads, 1, 1, { act: false });
    const heads = g.op('Reshape', [qkv.name, g.constInt([4], [0, numHeads, 2 * keyDim + headDim, n])]);
    const [q, k, v] = g.node('Split', [heads, g.constInt([3], [keyDim, keyDim, headDim])], { axis: 2 }, 3);
    const qT = g.op('Transpose', [q], { perm: [0, 1, 3, 2] });
    const scores = g.op('Mul', [g.matmul(qT, k, numHeads * n * n * keyDim), g.scalar(keyDim ** -0.5)]);
    const attn = g.op('Softmax', [scores], { axis: -1 });
    const attnT = g.op('Transpose', [attn], { perm: [0, 1, 3, 2] });
    const mixed = g.op('Reshape', [
      g.matmul(v, attnT, numHeads * headDim * n * n),
      g.constInt([4], [0, x.c, x.h, x.w]),
    ]);
    const vMap = { ...x, name: g.op('Reshape', [v, g.constInt([4], [0, x.c, x.h, x.w])]) };
    const pe = Conv(vMap, `${prefix}.pe`, x.c, 3, 1, { groups: x.c, act: false });
    return Conv(g.add({ ...x, name: mixed }, pe), `${prefix}.proj`, x.c, 1, 1, { act: false });
  };
  const PSABlock = (x, prefix, numHeads) => {
    const a = g.add(x, Attention(x, `${prefix}.attn`, numHeads));
    const ffn = Conv(Conv(a, `${prefix}.ffn.0`, a.c * 2), `${prefix}.ffn.1`, a.c, 1, 1, { act: false });
    return g.add(a, ffn);
  };
  const C2PSA = (x, prefix, c2, n, e = 0.5) => {
    const c = Math.trunc(x.c * e);
    let [a, b] = g.split(Conv(x, `${prefix}.cv1`, 2 * c), [c, c]);
    for (let i = 0; i < n; i++) b = PSABlock(b, `${prefix}.m.${i}`, Math.trunc(c / 64));
    return Conv(g.concat([a, b]), `${prefix}.cv2`, c2);
  };
  const Upsample = (x, scale) => ({
    ...x,
    h: x.h * scale,
    w: x.w * scale,
    name: g.op('Resize', [x.name, '', g.constFloat([4], [1, 1, scale, scale])], {
      coordinate_transformation_mode: 'asymmetric',
      mode: 'nearest',
      nearest_mode: 'floor',
    }),
  });
  /** Detect (head.py, legacy=False) in export mode: box branch cv2, class branch cv3 (DWConv), DFL, dist2bbox. */
  const Detect = (xs, prefix) => {
    const no = S.nc + 4 * S.regMax;
    const c2 = Math.max(16, xs[0].c / 4, 4 * S.regMax);
    const c3 = Math.max(xs[0].c, Math.min(S.nc, 100));
    const flat = xs.map((x, i) => {
      const p2 = `${prefix}.cv2.${i}`;
      let box = Conv(Conv(x, `${p2}.0`, c2, 3), `${p2}.1`, c2, 3);
      // bias_init(): box logits 1.0
      box = g.conv(box, `${p2}.2`, {
        cout: 4 * S.regMax,
        gain: 1,
        bias: new Float32Array(4 * S.regMax).fill(1),
      });
      const p3 = `${prefix}.cv3.${i}`;
      let cls = Conv(Conv(x, `${p3}.0.0`, x.c, 3, 1, { groups: x.c }), `${p3}.0.1`, c3);
      cls = Conv(Conv(cls, `${p3}.1.0`, c3, 3, 1, { groups: c3 }), `${p3}.1.1`, c3);
      // bias_init(): class logits log(5 / nc / (640 / stride)^2), about 0.01 objects per image
      const clsBias = Math.log(5 / S.nc / (S.imgsz / S.strides[i]) ** 2);
      cls = g.conv(cls, `${p3}.2`, { cout: S.nc, gain: 1, bias: new Float32Array(S.nc).fill(clsBias) });
      return g.op('Reshape', [g.concat([box, cls]).name, g.constInt([3], [0, no, -1])]);
    });
    // make_anchors(offset 0.5): cell centres in grid units, and the stride of each anchor.
    const grids = xs.map((x) => [x.h, x.w]);
    const anchorsN = grids.reduce((n, [h, w]) => n + h * w, 0);
    const anchors = new Float32Array(2 * anchorsN);
    const strides = new Float32Array(anchorsN);
    let a = 0;
    grids.forEach(([h, w], i) => {
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++, a++) {
          anchors[a] = x + 0.5;
          anchors[anchorsN + a] = y + 0.5;
          strides[a] = S.strides[i];
        }
    });
    const xCat = g.op('Concat', flat, { axis: 2 });
    const [box, cls] = g.node('Split', [xCat, g.constInt([2], [4 * S.regMax, S.nc])], { axis: 1 }, 2);
    // DFL: view(b, 4, 16, a).transpose(2, 1).softmax(1) -> 1x1 conv with weights 0..15 -> view(b, 4, a)
    const dist4 = g.op('Transpose', [g.op('Reshape', [box, g.constInt([4], [0, 4, S.regMax, anchorsN])])], {
      perm: [0, 2, 1, 3],
    });
    const dflW = g.param(
      `${prefix}.dfl.conv.weight`,
      [1, S.regMax, 1, 1],
      Float32Array.from({ length: S.regMax }, (_, i) => i),
    );
    g.macs += S.regMax * 4 * anchorsN;
    g.convMacs += S.regMax * 4 * anchorsN;
    const dfl = g.op('Conv', [g.op('Softmax', [dist4], { axis: 1 }), dflW], { kernel_shape: [1, 1] });
    const dist = g.op('Reshape', [dfl, g.constInt([3], [0, 4, anchorsN])]);
    // dist2bbox(xywh=True): lt, rb = chunk(2); centre = anchor + (rb - lt) / 2; size = lt + rb; then * stride.
    const anchorPts = g.constTensor(`${prefix}.anchors`, [1, 2, anchorsN], anchors);
    const strideT = g.constTensor(`${prefix}.strides`, [1, anchorsN], strides);
    const [lt, rb] = g.node('Split', [dist, g.constInt([2], [2, 2])], { axis: 1 }, 2);
    const x1y1 = g.op('Sub', [anchorPts, lt]);
    const x2y2 = g.op('Add', [anchorPts, rb]);
    const cxy = g.op('Div', [g.op('Add', [x1y1, x2y2]), g.scalar(2)]);
    const wh = g.op('Sub', [x2y2, x1y1]);
    const dbox = g.op('Mul', [g.op('Concat', [cxy, wh], { axis: 1 }), strideT]);
    return g.op('Concat', [dbox, g.op('Sigmoid', [cls])], { axis: 1 }, 'output0');
  };

  const input = { name: 'images', c: 3, h: S.imgsz, w: S.imgsz };
  const outs = [];
  const summary = [];
  let output;
  S.layers.forEach(([from, repeats, module, args], i) => {
    const n = depth(repeats);
    const prefix = `model.${i}`;
    const src = (f) => (f === -1 ? (outs[i - 1] ?? input) : outs[f]);
    const x = Array.isArray(from) ? from.map(src) : src(from);
    let y;
    switch (module) {
      case 'Conv':
        y = Conv(x, prefix, width(args[0]), args[1], args[2]);
        break;
      case 'C3k2': {
        // parse_model: scales m/l/x force c3k=True; s keeps the yaml's flag.
        const c3k = 'mlx'.includes(S.scale) ? true : (args[1] ?? false);
        y = C3k2(x, prefix, width(args[0]), n, c3k, args[2] ?? 0.5);
        break;
      }
      case 'SPPF':
        y = SPPF(x, prefix, width(args[0]), args[1]);
        break;
      case 'C2PSA':
        y = C2PSA(x, prefix, width(args[0]), n);
        break;
      case 'Upsample':
        y = Upsample(x, args[1]);
        break;
      case 'Concat':
        y = g.concat(x);
        break;
      case 'Detect':
        output = Detect(x, prefix);
        break;
      default:
        throw new Error(`yolo11: unknown module ${module}`);
    }
    outs.push(y);
    summary.push({
      index: i,
      from,
      n,
      module,
      args,
      out: y ? [y.c, y.h, y.w] : [4 + S.nc, (S.imgsz / 8) ** 2 + (S.imgsz / 16) ** 2 + (S.imgsz / 32) ** 2],
    });
  });
  if (!output) throw new Error('yolo11: no Detect layer');
  const anchorsN = summary[summary.length - 1].out[1];
  const id = 'yolo11s-arch';
  const inputs = [valueInfo('images', FLOAT, ['batch', 3, S.imgsz, S.imgsz])];
  const outputs = [valueInfo('output0', FLOAT, ['batch', 4 + S.nc, anchorsN])];
  const { bytes, calibration } = await g.calibratedModel({
    id,
    inputs,
    outputs,
    size: S.imgsz,
    seed,
    // What Ultralytics writes into its ONNX metadata, for consumers that read it.
    metadata: {
      task: 'detect',
      stride: String(Math.max(...S.strides)),
      imgsz: `[${S.imgsz}, ${S.imgsz}]`,
      names: `{${COCO_CLASSES.map((c, i) => `${i}: '${c}'`).join(', ')}}`,
    },
  });
  return {
    bytes,
    params: g.params,
    macs: g.macs,
    convMacs: g.convMacs,
    summary,
    anchors: anchorsN,
    calibration,
  };
}
