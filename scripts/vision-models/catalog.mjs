// The catalog of the vision stand-ins: their ids and build versions (the stamp that says a built model is current),
// their one-line descriptions (written into the ONNX file and config.json), the official sizes they are measured
// against, and the ONNX opset every one of them is exported at. The one place to bump when a model changes.

/** Bump when a model's graph or weights change: older builds are then rebuilt. */
export const BUILD_VERSIONS = Object.freeze({
  'yolo11s-arch': 'yolo11s-arch/1',
  'mobileclip-s2-image-arch': 'mobileclip-s2-image-arch/1',
});

export const VISION_MODEL_IDS = Object.freeze(Object.keys(BUILD_VERSIONS));

/** The ONNX opset of every vision stand-in. */
export const OPSET = 17;

/** The official sizes the stand-ins are measured against. */
export const OFFICIAL = Object.freeze({
  'yolo11s-arch': {
    params: 9_443_760,
    params_unfused: 9_458_752,
    gflops: 21.5,
    source: 'Ultralytics yolo11s: 9,443,760 params fused (9,458,752 unfused), 21.5 GFLOPs at 640',
  },
  'mobileclip-s2-image-arch': {
    params: 35_700_000,
    source: 'MobileCLIP paper (Vasu et al., CVPR 2024), MobileCLIP-S2 image encoder: 35.7M params',
  },
});

/** What each stand-in is, in one line: the ONNX docString and metadata, and config.json's description. */
export const DESCRIPTIONS = Object.freeze({
  'yolo11s-arch':
    'architecture-faithful stand-in for Ultralytics YOLO11s (ONNX export, 640x640) with synthetic weights: throughput is real, detections are not meaningful',
  'mobileclip-s2-image-arch':
    'architecture-faithful stand-in for the MobileCLIP-S2 image encoder (MCi2, reparameterised, 256x256) with synthetic weights: throughput is real, embeddings are not meaningful and are not L2-normalised',
});
