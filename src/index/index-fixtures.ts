/**
 * Seeded, reproducible documents for the index tests, the crash and concurrency fixture (`writer-fixture.ts`)
 * and the measurements (`bench-index.ts`): the same seed always gives the same batch, so a process can check
 * what another wrote. Also a brute-force cosine search to check the adapters against.
 */
import { cosine } from '../core/cosine.js';
import { mulberry32 } from '../core/random.js';
import type { BoxDocument, Detection, ImageDocument, PixelBox } from './index-port.js';

/** A random unit vector, uniform on the sphere (normalised Gaussians, Box–Muller). */
export function randomUnitVector(random: () => number, dimension: number): Float32Array {
  const v = new Float32Array(dimension);
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    const x = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    v[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dimension; i++) v[i] = (v[i] ?? 0) / norm;
  return v;
}

/** The k best `items` by cosine similarity to `query`, best first: the reference the adapters must match. */
export function bruteForceNearest(
  query: Float32Array,
  items: readonly { readonly id: string; readonly embedding: Float32Array }[],
  k: number,
): { id: string; score: number }[] {
  return items
    .map((item) => ({ id: item.id, score: cosine(query, item.embedding) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, k);
}

/** Labels of the fixtures: `person` on ~40 % of images, every other label on a few percent. */
export const PERSON = 'person';
export const VEHICLE_LABELS = ['car', 'truck', 'bus', 'motorcycle'] as const;
export const OTHER_LABELS = ['dog', 'cat', 'bicycle', 'boat', 'bird', 'horse', 'kite', 'umbrella'] as const;
const LABELS = [...VEHICLE_LABELS, ...OTHER_LABELS];
const CLASS_IDS: Record<string, number> = { person: 0, bicycle: 1, car: 2, motorcycle: 3, bus: 5, truck: 7 };

function randomBox(random: () => number, width: number, height: number): PixelBox {
  const x1 = Math.floor(random() * width * 0.8);
  const y1 = Math.floor(random() * height * 0.8);
  return [
    x1,
    y1,
    x1 + 1 + Math.floor(random() * (width - x1 - 1)),
    y1 + 1 + Math.floor(random() * (height - y1 - 1)),
  ];
}

function hex(random: () => number, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) s += Math.floor(random() * 16).toString(16);
  return s;
}

/** What `makeBatch` builds. */
export interface FixtureBatch {
  readonly images: ImageDocument[];
  readonly boxes: BoxDocument[];
}

/** Options of `makeBatch`. */
export interface BatchOptions {
  /** Embedding length. */
  readonly dimension: number;
  /** Images in the batch. */
  readonly size: number;
  /** Id prefix; ids are `${prefix}${n}` with n counting from `first`. Default `img-`. */
  readonly prefix?: string;
  /** Number of the first image; default 0. */
  readonly first?: number;
  /** Whether to make vehicle and people boxes (one per such detection, at most 2 per image). Default true. */
  readonly boxes?: boolean;
}

/**
 * A reproducible batch: image n has id `${prefix}${n}`, a random imohash, random unit embedding, 0–3
 * detections (person on ~40 % of images, other labels rarer), 0–2 faces and OCR lines, and one box per person
 * or vehicle detection (at most 2).
 */
export function makeBatch(seed: number, options: BatchOptions): FixtureBatch {
  const random = mulberry32(seed);
  const { dimension, size, prefix = 'img-', first = 0 } = options;
  const images: ImageDocument[] = [];
  const boxes: BoxDocument[] = [];
  for (let n = first; n < first + size; n++) {
    const id = `${prefix}${n}`;
    const width = 320 + Math.floor(random() * 1600);
    const height = 240 + Math.floor(random() * 1200);
    const detections: Detection[] = [];
    if (random() < 0.4) {
      detections.push({ label: PERSON, classId: 0, score: random(), box: randomBox(random, width, height) });
    }
    const extra = Math.floor(random() * 3);
    for (let j = 0; j < extra; j++) {
      const label = LABELS[Math.floor(random() * LABELS.length)] ?? 'dog';
      detections.push({
        label,
        classId: CLASS_IDS[label] ?? 99,
        score: random(),
        box: randomBox(random, width, height),
      });
    }
    const faces = Array.from({ length: Math.floor(random() * 3) }, () => ({
      score: random(),
      box: randomBox(random, width, height),
    }));
    const ocr = Array.from({ length: Math.floor(random() * 3) }, (_, j) => ({
      text: `line ${j} of ${id} — ünïcödé`,
      score: random(),
      box: randomBox(random, width, height),
    }));
    images.push({
      id,
      imohash: hex(random, 32),
      name: `photos/${id}.jpg`,
      width,
      height,
      format: 'jpeg',
      bytes: 10_000 + Math.floor(random() * 5_000_000),
      ingestedAt: new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString(),
      detections,
      faces,
      ocr,
      embedding: randomUnitVector(random, dimension),
      nearDuplicateOf: random() < 0.1 ? `${prefix}${Math.max(0, n - 1)}` : null,
    });
    if (options.boxes === false) continue;
    let made = 0;
    detections.forEach((d, j) => {
      const kind =
        d.label === PERSON
          ? 'people'
          : (VEHICLE_LABELS as readonly string[]).includes(d.label)
            ? 'vehicles'
            : null;
      if (kind === null || made >= 2) return;
      made++;
      boxes.push({
        id: `${id}:${kind === 'people' ? 'p' : 'v'}${j}`,
        imageId: id,
        kind,
        label: d.label,
        score: d.score,
        box: d.box,
        embedding: randomUnitVector(random, dimension),
      });
    });
  }
  return { images, boxes };
}
