/**
 * File names of a camera roll's mix (iPhone, Pixel, Samsung, Sony, Nikon, WhatsApp, screenshots, downloads),
 * unique case-insensitively, with the camera and the time taken that go into an original's EXIF.
 */
import type { PhotoFormat } from './manifest.js';
import { PHOTO_CORPUS_MANIFEST } from './manifest.js';
import type { Dice } from './dice.js';
import type { Camera } from './plan-types.js';

const CAMERAS: readonly {
  weight: number;
  camera: Camera | null;
  name: (d: Dice, t: Date) => string;
}[] = [
  {
    weight: 0.3,
    camera: { make: 'Apple', model: 'iPhone 13' },
    name: (d) => `IMG_${pad(d.int(1, 9999), 4)}.JPG`,
  },
  {
    weight: 0.2,
    camera: { make: 'Google', model: 'Pixel 7' },
    name: (d, t) => `PXL_${ymd(t)}_${hms(t)}${pad(d.int(0, 999), 3)}.jpg`,
  },
  {
    weight: 0.15,
    camera: { make: 'samsung', model: 'SM-S911B' },
    name: (_d, t) => `${ymd(t)}_${hms(t)}.jpg`,
  },
  {
    weight: 0.15,
    camera: { make: 'SONY', model: 'ILCE-7M3' },
    name: (d) => `DSC${pad(d.int(1, 99999), 5)}.JPG`,
  },
  {
    weight: 0.1,
    camera: { make: 'NIKON CORPORATION', model: 'NIKON D750' },
    name: (d) => `DSC_${pad(d.int(1, 9999), 4)}.JPG`,
  },
  { weight: 0.1, camera: null, name: (d, t) => `IMG-${ymd(t)}-WA${pad(d.int(0, 999), 4)}.jpg` },
];

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
function ymd(t: Date): string {
  return `${t.getUTCFullYear()}${pad(t.getUTCMonth() + 1, 2)}${pad(t.getUTCDate(), 2)}`;
}
function hms(t: Date): string {
  return `${pad(t.getUTCHours(), 2)}${pad(t.getUTCMinutes(), 2)}${pad(t.getUTCSeconds(), 2)}`;
}
function exifDate(t: Date): string {
  return `${t.getUTCFullYear()}:${pad(t.getUTCMonth() + 1, 2)}:${pad(t.getUTCDate(), 2)} ${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}`;
}

const FIRST_DAY = Date.UTC(2024, 0, 1);
const DAYS = 900;

/** Unique (case-insensitively) camera-like names, drawn from the plan's PRNG. */
export class FileNames {
  private readonly taken = new Set<string>([PHOTO_CORPUS_MANIFEST]);
  constructor(private readonly dice: Dice) {}
  next(format: PhotoFormat): { file: string; camera: Camera | null; taken: string } {
    for (;;) {
      const t = new Date(FIRST_DAY + Math.floor(this.dice.unit() * DAYS * 86_400) * 1000);
      let file: string;
      let camera: Camera | null = null;
      if (format === 'png') file = `Screenshot_${ymd(t)}-${hms(t)}.png`;
      else if (format === 'webp') file = `IMG_${ymd(t)}_${hms(t)}.webp`;
      else {
        const style = this.dice.weighted(CAMERAS);
        file = style.name(this.dice, t);
        camera = style.camera;
      }
      if (this.taken.has(file.toLowerCase())) continue;
      this.taken.add(file.toLowerCase());
      return { file, camera, taken: exifDate(t) };
    }
  }
}
