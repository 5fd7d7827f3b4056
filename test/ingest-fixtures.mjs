// Photos and checks shared by the tests of the two ingest services (pitlane's `serve ingest` and the Python
// baseline): the Debian darknet photos, the derived images both test suites send (a near copy, a flipped
// photo, a PNG crop), folders of photos, the per-image error triples they assert, and a pitlane ingest service on a KServe server.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { startService } from './helpers.mjs';

/** Debian's darknet package: real photos (dog, person, horses, giraffe, eagle, scream, kite...). */
export const DARKNET = '/usr/share/darknet/data';

/** The bytes of a darknet photo, e.g. `photo('dog')`. */
export const photo = (name) => readFileSync(join(DARKNET, `${name}.jpg`));

/** Makes folder `dir` holding the darknet photos `names` (`${name}.jpg` each); returns `dir`. */
export function photoFolder(dir, names) {
  mkdirSync(dir);
  for (const name of names) copyFileSync(join(DARKNET, `${name}.jpg`), join(dir, `${name}.jpg`));
  return dir;
}

/** dog.jpg re-encoded smaller (600 px wide, JPEG quality 70): a near duplicate of it, not an exact one. */
export const smallerDog = () => sharp(photo('dog')).resize(600).jpeg({ quality: 70 }).toBuffer();

/** dog.jpg twice as upload files: an exact copy, and a smaller re-encode (a near duplicate). */
export const dogCopies = async () => [
  ['copy-of-dog.jpg', photo('dog')],
  ['dog-600-q70.jpg', await smallerDog()],
];

/** giraffe.jpg mirrored: a new, valid photo. */
export const flippedGiraffe = () => sharp(join(DARKNET, 'giraffe.jpg')).flop().toBuffer();

/** A 400×400 PNG crop of horses.jpg. */
export const horsesPng = () =>
  sharp(join(DARKNET, 'horses.jpg')).extract({ left: 0, top: 0, width: 400, height: 400 }).png().toBuffer();

/** The per-image errors of an ingest answer as `[index, name, reason]` triples. */
export const errorTriples = (json) => json.errors.map((e) => [e.index, e.name, e.reason]);

/** `pitlane serve ingest` with inference on the KServe server at `modelsUrl`, no faces or OCR, index in `db`. */
export const startIngestOn = (modelsUrl, db, extra = []) =>
  startService('ingest', ['--inference', modelsUrl, '--no-faces', '--no-ocr', '--db', db, ...extra]);
