/**
 * Step 3 of a batch, for one image: decode once (shrink-on-load), then detection ∥ centre-crop embedding
 * [∥ faces ∥ OCR], then embeddings of the vehicle and people boxes when asked. It owns what the models are fed
 * and the mapping of their boxes back to source pixels; the models are ports (../ports.ts).
 */
import type { BoxDocument, ImageDocument } from '../../../index/index-port.js';
import { cropBox, withCropLayout } from '../../../inference/vision/box-crop.js';
import { prepareImage, type PreparedImage } from '../../../inference/vision/image-prep.js';
import type { ObjectDetection, VisionModels } from '../ports.js';
import type { Gate } from './gate.js';
import type { IngestOptions, LoadedImage } from './ingest-types.js';

/** The labels whose boxes go to the vehicles and people indexes. */
export const VEHICLE_LABELS: ReadonlySet<string> = new Set(['bicycle', 'car', 'motorcycle', 'bus', 'truck']);
export const PEOPLE_LABELS: ReadonlySet<string> = new Set(['person']);

/** What analysing one image found. */
export interface Analysis {
  readonly prepared: PreparedImage;
  readonly detections: ObjectDetection[];
  readonly embedding: Float32Array;
  readonly faces: ImageDocument['faces'];
  readonly ocr: ImageDocument['ocr'];
  readonly boxes: Omit<BoxDocument, 'id' | 'imageId'>[];
}

/** Decodes one image under `decodeGate` (at most so many decodes at once), then asks the models. */
export async function analyseImage(
  models: VisionModels,
  image: LoadedImage,
  options: IngestOptions,
  limits: { readonly maxPixels: number; readonly decodeGate: Gate },
  signal: AbortSignal | undefined,
): Promise<Analysis> {
  const { detector, embedder } = models;
  const needDecoded = options.enableFaces || options.enableOcr || options.boxEmbeddings;
  const prepared = await limits.decodeGate.run(() =>
    prepareImage(image.source, {
      name: image.name,
      layout: detector.layout,
      maxPixels: limits.maxPixels,
      keepDecoded: needDecoded,
      ...(detector.inputSize !== null ? { letterboxSize: detector.inputSize } : {}),
      ...(embedder.inputSize !== null ? { cropSize: embedder.inputSize } : {}),
    }),
  );
  const forEmbedder =
    embedder.layout === prepared.layout ? prepared : withCropLayout(prepared, embedder.layout);
  const decoded = prepared.decoded;
  const toSource = (b: readonly [number, number, number, number]): [number, number, number, number] => {
    const sx = prepared.width / prepared.decodedWidth;
    const sy = prepared.height / prepared.decodedHeight;
    return [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy];
  };
  const [detections, embedding, faces, ocr] = await Promise.all([
    detector.detect(prepared, signal),
    embedder.embed(forEmbedder, signal),
    options.enableFaces && decoded !== null && models.faces !== null
      ? models.faces.find(decoded, signal)
      : Promise.resolve([]),
    options.enableOcr && decoded !== null && models.ocr !== null
      ? models.ocr.read(decoded, signal)
      : Promise.resolve([]),
  ]);
  const boxes: Omit<BoxDocument, 'id' | 'imageId'>[] = [];
  if (options.boxEmbeddings && decoded !== null) {
    const wanted = detections.filter((d) => VEHICLE_LABELS.has(d.label) || PEOPLE_LABELS.has(d.label));
    const vectors = await Promise.all(
      wanted.map(async (d) =>
        embedder.embed(await cropBox(decoded, prepared, d.box, embedder.inputSize, embedder.layout), signal),
      ),
    );
    wanted.forEach((d, i) => {
      const embedding = vectors[i];
      if (embedding === undefined) return;
      boxes.push({
        kind: VEHICLE_LABELS.has(d.label) ? 'vehicles' : 'people',
        label: d.label,
        score: d.score,
        box: d.box,
        embedding,
      });
    });
  }
  return {
    prepared,
    detections,
    embedding,
    faces: faces.map((f) => ({ ...f, box: toSource(f.box) })),
    ocr: ocr.map((l) => ({ ...l, box: toSource(l.box) })),
    boxes,
  };
}
