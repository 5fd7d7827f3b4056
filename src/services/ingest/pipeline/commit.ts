/**
 * Steps 4 and 5 of a batch, run under the pipeline's commit lock so that concurrent batches see each other's
 * committed images: the final exact-duplicate check (another batch may have committed the same bytes since the
 * pre-check), the near-duplicate check (cosine against the index, then earlier images of this batch), and one
 * durable write of the whole batch.
 */
import type { BoxDocument, ImageDocument, IndexCounts } from '../../../index/index-port.js';
import type { IngestIndex } from '../ports.js';
import type { Analysis } from './analyse.js';
import { duplicateOutcome, type ImageOutcome, type LoadedImage } from './ingest-types.js';

/** Cosine similarity of two L2-normalised vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

/**
 * Commits the analysed images of a batch, writing each one's outcome into `outcomes`. Images another batch
 * committed since the pre-check are duplicates after all (their analysis is wasted, which only happens when the
 * same bytes arrive in concurrent batches).
 */
export async function commitBatch(
  index: IngestIndex,
  nearDuplicateThreshold: number,
  analysed: readonly ({ x: LoadedImage; result: Analysis } | null)[],
  outcomes: (ImageOutcome | undefined)[],
  ingestedAt: string,
): Promise<{ indexed: IndexCounts; nearDuplicates: number }> {
  const present = analysed.filter((a) => a !== null);
  const committed = await index.findImohashes([...new Set(present.map((a) => a.x.hash))]);
  const images: ImageDocument[] = [];
  const boxes: BoxDocument[] = [];
  let nearDuplicates = 0;
  const threshold = nearDuplicateThreshold;
  for (const { x, result } of present) {
    const dupOf = committed.get(x.hash);
    if (dupOf !== undefined) {
      outcomes[x.index] = duplicateOutcome(x, dupOf);
      continue;
    }
    let nearOf: string | null = null;
    const [hit] = await index.nearest(result.embedding, { k: 1 });
    if (hit !== undefined && hit.score >= threshold) nearOf = hit.id;
    if (nearOf === null) {
      for (const earlier of images) {
        if (dot(earlier.embedding, result.embedding) >= threshold) {
          nearOf = earlier.id;
          break;
        }
      }
    }
    if (nearOf !== null) nearDuplicates++;
    const id = x.hash;
    images.push({
      id,
      imohash: x.hash,
      name: x.name,
      width: result.prepared.width,
      height: result.prepared.height,
      format: result.prepared.format,
      bytes: x.size,
      ingestedAt,
      detections: result.detections,
      faces: result.faces,
      ocr: result.ocr,
      embedding: result.embedding,
      nearDuplicateOf: nearOf,
    });
    result.boxes.forEach((b, i) => {
      boxes.push({ ...b, id: `${id}:${b.kind === 'vehicles' ? 'v' : 'p'}${i}`, imageId: id });
    });
    outcomes[x.index] = {
      index: x.index,
      name: x.name,
      id,
      status: 'indexed',
      duplicate_of: null,
      near_duplicate_of: nearOf,
      detections: result.detections,
      faces: result.faces.length,
      ocr: result.ocr.length,
    };
  }
  const indexed =
    images.length > 0
      ? await index.indexBatch(images, boxes)
      : { global: 0, vehicles: 0, people: 0, faces: 0, ocr: 0 };
  return { indexed, nearDuplicates };
}
