// yolo11s-arch: builds the YOLO11s stand-in (yolo11s-graph.mjs) into its model folder, with the config.json that
// records its architecture, its sizes against the official ones, how its weights were made, its preprocessing
// and its output layout.
import { COCO_CLASSES } from '../../dist/inference/vision/coco.js';
import { DESCRIPTIONS, OFFICIAL, OPSET } from './catalog.mjs';
import { buildModelFolder, round } from './model-folder.mjs';
import { buildYolo11sGraph, YOLO11S_SHAPE } from './yolo11s-graph.mjs';

/**
 * Builds yolo11s-arch into `outDir` unless it is already there at its BUILD_VERSION (or `force`).
 * Resolves to { id, outDir, built, ms, params, gflops, files: [{ name, bytes }] }.
 */
export async function buildYolo11sArch(outDir, { force = false, seed = 1111 } = {}) {
  const id = 'yolo11s-arch';
  return buildModelFolder(id, outDir, force, async (version) => {
    const S = YOLO11S_SHAPE;
    const { bytes, params, macs, convMacs, summary, anchors, calibration } = await buildYolo11sGraph(seed);
    const config = {
      _name: id,
      description: DESCRIPTIONS[id],
      synthetic_weights: true,
      stands_in_for:
        'Ultralytics YOLO11s (yolo11s.pt), exported with `yolo export model=yolo11s.pt format=onnx`',
      pitlane_build_version: version,
      seed,
      model_type: 'yolo11',
      task: 'detect',
      scale: S.scale,
      depth_multiple: S.depthMultiple,
      width_multiple: S.widthMultiple,
      max_channels: S.maxChannels,
      nc: S.nc,
      reg_max: S.regMax,
      strides: S.strides,
      imgsz: S.imgsz,
      params,
      params_official: OFFICIAL[id].params,
      gflops: round((2 * macs) / 1e9, 2),
      gflops_convs: round((2 * convMacs) / 1e9, 2),
      gflops_note:
        'GFLOPs = 2 x multiply-accumulates (Ultralytics convention) at 640x640, batch 1; gflops counts the convolutions and the attention products, gflops_convs only the convolutions (what Ultralytics counts)',
      gflops_official: OFFICIAL[id].gflops,
      official_source: OFFICIAL[id].source,
      weights: {
        init: `He-normal conv weights from the project's seeded PRNG (seed ${seed}); every Conv's BatchNorm calibrated on a synthetic batch (a 1/f picture and uniform noise) and folded into weight and bias (gamma 1, beta 0)`,
        detect_head:
          'Detect.bias_init(): box logits 1.0, class logits log(5 / 80 / (640 / stride)^2); last 1x1 convs N(0, 1 / fan_in)',
        calibrated_batchnorms: calibration.batchNorms,
      },
      preprocessing: 'RGB, letterboxed to 640x640 (pad 114), scaled to [0, 1], NCHW float32',
      output_layout:
        'output0[b, 0:4, a] = box centre x, centre y, width, height in input pixels; output0[b, 4:84, a] = sigmoid class scores; anchors a: 80x80 at stride 8, then 40x40 at stride 16, then 20x20 at stride 32 (no NMS in the graph)',
      anchors,
      names: COCO_CLASSES,
      layers: summary,
      onnx: {
        file: 'model.onnx',
        opset: OPSET,
        inputs: [{ name: 'images', dtype: 'float32', shape: ['batch', 3, S.imgsz, S.imgsz] }],
        outputs: [{ name: 'output0', dtype: 'float32', shape: ['batch', 4 + S.nc, anchors] }],
      },
    };
    return { bytes, config };
  });
}
