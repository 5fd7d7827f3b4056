import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { ImageError, prepareImage, type ImageErrorReason, type PreparedImage } from './image-prep.js';

const DATA = '/usr/share/darknet/data';
const DOG = join(DATA, 'dog.jpg');
const PHOTOS = ['dog', 'person', 'horses', 'kite', 'giraffe', 'eagle'].map((n) => join(DATA, `${n}.jpg`));
const PAD = Math.fround(114 / 255);
const tmp = mkdtempSync(join(tmpdir(), 'pitlane-image-prep-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Value of channel c at (x, y) in a CHW square tensor of side size. */
function at(data: Float32Array | Uint8Array, size: number, c: number, x: number, y: number): number {
  return data[c * size * size + y * size + x]!;
}

function assertRange(data: Float32Array | Uint8Array, lo: number, hi: number): void {
  for (const v of data) assert.ok(v >= lo && v <= hi, `value ${v} outside ${lo}..${hi}`);
}

/** Asserts the letterbox has exactly 114/255 outside the content and real pixels just inside it. */
function assertPadding(p: PreparedImage): void {
  const { data, size, padX, padY, contentWidth, contentHeight } = p.letterbox;
  assert.equal(padX + contentWidth + padX <= size && size - contentWidth - padX - padX <= 1, true);
  assert.equal(padY + contentHeight + padY <= size && size - contentHeight - padY - padY <= 1, true);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = x >= padX && x < padX + contentWidth && y >= padY && y < padY + contentHeight;
        if (!inside) assert.equal(at(data, size, c, x, y), PAD, `pad at c${c} (${x}, ${y})`);
      }
    }
  }
}

function meanAbsDiff(a: Float32Array | Uint8Array, b: Float32Array | Uint8Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

async function assertImageError(
  promise: Promise<unknown>,
  image: string,
  reason: ImageErrorReason,
  text?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected ImageError, got ${String(err)}`);
    assert.equal(err.image, image);
    assert.equal(err.reason, reason);
    assert.equal(err.code, 'PL_ERR_ITEM');
    assert.ok(err.message.startsWith(`${image}: `), err.message);
    if (text !== undefined) assert.match(err.message, text);
    return true;
  });
}

/** A PNG of width×height 1-bit black pixels: a few tens of kilobytes that decode to width×height pixels. */
function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc(height * (1 + Math.ceil(width / 8))); // filter byte 0 + zero bits per row
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('prepareImage on real photos', () => {
  test('dog.jpg: 768×576 letterboxes at 0.8333 into 640×480 with 80 rows of 114 above and below', async () => {
    const p = await prepareImage(DOG);
    assert.equal(p.name, DOG);
    assert.equal(p.format, 'jpeg');
    assert.equal(p.width, 768);
    assert.equal(p.height, 576);
    assert.equal(p.orientation, 1);
    assert.equal(p.letterbox.size, 640);
    assert.equal(p.letterbox.data.length, 3 * 640 * 640);
    assert.ok(Math.abs(p.letterbox.scale - 640 / 768) < 1e-12);
    assert.deepEqual([p.letterbox.contentWidth, p.letterbox.contentHeight], [640, 480]);
    assert.deepEqual([p.letterbox.padX, p.letterbox.padY], [0, 80]);
    assertPadding(p);
    // Rows 80 and 559 are photo, not padding.
    for (const y of [80, 559]) {
      let differs = 0;
      for (let x = 0; x < 640; x++) if (at(p.letterbox.data, 640, 0, x, y) !== PAD) differs++;
      assert.ok(differs > 100, `row ${y} looks like padding`);
    }
    assertRange(p.letterbox.data, 0, 1);
    assert.equal(p.crop.size, 256);
    assert.equal(p.crop.data.length, 3 * 256 * 256);
    assertRange(p.crop.data, 0, 1);
  });

  test('the letterbox content is exactly the resized RGB pixels, channel by channel', async () => {
    const p = await prepareImage(DOG);
    const { data } = await sharp(DOG, { ignoreIcc: true }).resize(640, 480, { fit: 'fill' }).raw().toBuffer({
      resolveWithObject: true,
    });
    for (let y = 0; y < 480; y += 7) {
      for (let x = 0; x < 640; x += 5) {
        for (let c = 0; c < 3; c++) {
          assert.equal(
            at(p.letterbox.data, 640, c, x, y + 80),
            Math.fround(data[(y * 640 + x) * 3 + c]! / 255),
          );
        }
      }
    }
  });

  test('the crop is close to resizing the source directly (shorter side 256, centre 256×256)', async () => {
    const p = await prepareImage(DOG);
    // 768×576 → 341×256, centre crop from x = round(42.5) = 42.
    const { data } = await sharp(DOG, { ignoreIcc: true })
      .resize(341, 256, { fit: 'fill' })
      .extract({ left: 42, top: 0, width: 256, height: 256 })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const direct = new Float32Array(3 * 256 * 256);
    for (let i = 0; i < 256 * 256; i++) {
      for (let c = 0; c < 3; c++) direct[c * 256 * 256 + i] = data[i * 3 + c]! / 255;
    }
    assert.ok(meanAbsDiff(p.crop.data, direct) < 0.01);
  });

  test('every darknet photo: shapes, ranges and padding', async () => {
    for (const file of PHOTOS) {
      const p = await prepareImage(file, { letterboxSize: 320, cropSize: 224 });
      const meta = await sharp(file).metadata();
      assert.deepEqual([p.width, p.height], [meta.autoOrient.width, meta.autoOrient.height], file);
      assert.equal(p.letterbox.data.length, 3 * 320 * 320);
      assert.equal(p.crop.data.length, 3 * 224 * 224);
      const scale = Math.min(320 / p.width, 320 / p.height);
      assert.ok(Math.abs(p.letterbox.scale - scale) < 1e-12, file);
      assert.ok(Math.max(p.letterbox.contentWidth, p.letterbox.contentHeight) === 320, file);
      assertPadding(p);
      assertRange(p.letterbox.data, 0, 1);
      assertRange(p.crop.data, 0, 1);
    }
  });

  test('mean and std normalise the crop only', async () => {
    const mean = [0.485, 0.456, 0.406] as const;
    const std = [0.229, 0.224, 0.225] as const;
    const plain = await prepareImage(DOG);
    const norm = await prepareImage(DOG, { mean, std });
    assert.deepEqual(norm.letterbox.data, plain.letterbox.data);
    for (const c of [0, 1, 2] as const) {
      for (let i = 0; i < 256 * 256; i += 97) {
        const j = c * 256 * 256 + i;
        assert.ok(Math.abs(norm.crop.data[j]! - (plain.crop.data[j]! - mean[c]) / std[c]) < 1e-5);
      }
    }
  });

  test('a 12 MP JPEG is decoded shrunk, never below what the outputs need', async () => {
    const big = await sharp(DOG).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    const p = await prepareImage(big, { name: 'big.jpg' });
    assert.equal(p.name, 'big.jpg');
    assert.deepEqual([p.width, p.height], [4000, 3000]);
    assert.deepEqual([p.decodedWidth, p.decodedHeight], [640, 480]);
    assert.ok(Math.abs(p.letterbox.scale - 0.16) < 1e-12);
    assert.deepEqual([p.letterbox.padX, p.letterbox.padY], [0, 80]);
    assertPadding(p);
  });

  test('a panorama decodes at the crop size and still letterboxes correctly', async () => {
    const wide = await sharp(DOG).resize(2000, 250, { fit: 'fill' }).jpeg().toBuffer();
    const p = await prepareImage(wide);
    assert.deepEqual([p.decodedWidth, p.decodedHeight], [2048, 256]);
    assert.deepEqual([p.letterbox.contentWidth, p.letterbox.contentHeight], [640, 80]);
    assert.deepEqual([p.letterbox.padX, p.letterbox.padY], [0, 280]);
    assertPadding(p);
    assertRange(p.crop.data, 0, 1);
  });
});

test('hwc-uint8 layout: the same pixels as chw-float, interleaved bytes, padding 114; decoded kept on request', async () => {
  const chw = await prepareImage(DOG);
  const hwc = await prepareImage(DOG, { layout: 'hwc-uint8', keepDecoded: true });
  assert.equal(hwc.layout, 'hwc-uint8');
  assert.ok(hwc.letterbox.data instanceof Uint8Array && hwc.crop.data instanceof Uint8Array);
  assert.equal(chw.decoded, null);
  assert.deepEqual([hwc.decoded?.width, hwc.decoded?.height], [hwc.decodedWidth, hwc.decodedHeight]);
  for (const [a, b, size] of [
    [chw.letterbox.data, hwc.letterbox.data, 640],
    [chw.crop.data, hwc.crop.data, 256],
  ] as const) {
    const plane = size * size;
    for (let i = 0; i < plane; i += 97) {
      for (let c = 0; c < 3; c++) assert.equal(Math.round((a[c * plane + i] ?? -1) * 255), b[i * 3 + c]);
    }
  }
  assert.equal(hwc.letterbox.data[0], 114, 'the top-left pixel of the 768x576 photo is padding');
});

describe('prepareImage inputs', () => {
  test('EXIF orientation 6 is applied: the upright image is 576×768', async () => {
    const tagged = await sharp(DOG).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    const upright = await sharp(DOG).rotate(90).jpeg({ quality: 95 }).toBuffer();
    const p = await prepareImage(tagged, { name: 'rotated.jpg' });
    const q = await prepareImage(upright, { name: 'upright.jpg' });
    assert.equal(p.orientation, 6);
    assert.deepEqual([p.width, p.height], [576, 768]);
    assert.deepEqual([p.letterbox.contentWidth, p.letterbox.contentHeight], [480, 640]);
    assert.deepEqual([p.letterbox.padX, p.letterbox.padY], [80, 0]);
    assertPadding(p);
    assert.ok(meanAbsDiff(p.letterbox.data, q.letterbox.data) < 0.02);
    assert.ok(meanAbsDiff(p.crop.data, q.crop.data) < 0.02);
  });

  test('PNG and WebP are accepted and give the same picture as the JPEG', async () => {
    const jpeg = await prepareImage(DOG);
    const png = await prepareImage(await sharp(DOG).png().toBuffer(), { name: 'dog.png' });
    const webp = await prepareImage(await sharp(DOG).webp({ quality: 95 }).toBuffer(), { name: 'dog.webp' });
    assert.equal(png.format, 'png');
    assert.equal(webp.format, 'webp');
    for (const p of [png, webp]) {
      assert.deepEqual([p.width, p.height, p.letterbox.padY], [768, 576, 80]);
      assertPadding(p);
      assert.ok(meanAbsDiff(p.letterbox.data, jpeg.letterbox.data) < 0.02, p.name);
    }
  });

  test('alpha is flattened onto white; a small image is scaled up', async () => {
    const clear = await sharp({ create: { width: 100, height: 50, channels: 4, background: '#00000000' } })
      .png()
      .toBuffer();
    const p = await prepareImage(clear, { name: 'clear.png' });
    assert.ok(Math.abs(p.letterbox.scale - 6.4) < 1e-12);
    assert.deepEqual(
      [p.letterbox.contentWidth, p.letterbox.contentHeight, p.letterbox.padY],
      [640, 320, 160],
    );
    assertPadding(p);
    assert.equal(at(p.letterbox.data, 640, 0, 320, 320), 1);
    assert.ok(p.crop.data.every((v) => v === 1));
  });

  test('a greyscale JPEG gives three equal channels', async () => {
    const grey = await sharp(DOG).greyscale().jpeg().toBuffer();
    const p = await prepareImage(grey, { name: 'grey.jpg' });
    const n = 256 * 256;
    for (let i = 0; i < n; i += 31) {
      assert.equal(p.crop.data[i], p.crop.data[n + i]);
      assert.equal(p.crop.data[i], p.crop.data[2 * n + i]);
    }
  });
});

describe('prepareImage errors', () => {
  test('a zero-byte buffer', async () => {
    await assertImageError(
      prepareImage(Buffer.alloc(0), { name: 'empty.jpg' }),
      'empty.jpg',
      'empty',
      /0 bytes/,
    );
  });

  test('random bytes', async () => {
    let seed = 12345;
    const noise = Buffer.from(
      new Uint8Array(4096).map(() => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24),
    );
    await assertImageError(prepareImage(noise, { name: 'noise.bin' }), 'noise.bin', 'not-an-image');
  });

  test('a text file, by path', async () => {
    const file = join(tmp, 'notes.jpg');
    writeFileSync(file, 'these are not pixels\n');
    await assertImageError(prepareImage(file), file, 'not-an-image', /not an image/);
  });

  test('a missing file', async () => {
    const file = join(tmp, 'missing.jpg');
    await assertImageError(prepareImage(file), file, 'unreadable', /cannot read/);
  });

  test('a truncated JPEG (the first half of dog.jpg)', async () => {
    const half = readFileSync(DOG).subarray(0, 82_000);
    await assertImageError(prepareImage(half, { name: 'half.jpg' }), 'half.jpg', 'corrupt', /truncated JPEG/);
  });

  test('a truncated PNG', async () => {
    const png = await sharp(DOG).png().toBuffer();
    const cut = png.subarray(0, png.length >> 1);
    await assertImageError(prepareImage(cut, { name: 'half.png' }), 'half.png', 'corrupt', /PNG/);
  });

  test('a GIF and an SVG are refused as unsupported formats', async () => {
    const gif = await sharp(DOG).gif().toBuffer();
    await assertImageError(prepareImage(gif, { name: 'dog.gif' }), 'dog.gif', 'unsupported-format', /is GIF/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    await assertImageError(prepareImage(svg, { name: 'a.svg' }), 'a.svg', 'unsupported-format', /is SVG/);
  });

  test('more pixels than maxPixels, naming the size and the limit', async () => {
    await assertImageError(
      prepareImage(DOG, { maxPixels: 100_000 }),
      DOG,
      'too-many-pixels',
      /768×576 is 442368 pixels, over the limit of 100000 pixels/,
    );
  });

  test('a decompression bomb: a small PNG of 20000×20000 pixels is refused before decoding', async () => {
    const bomb = pngBomb(20_000, 20_000);
    assert.ok(bomb.length < 200_000, `bomb is ${bomb.length} bytes`);
    await assertImageError(
      prepareImage(bomb, { name: 'bomb.png' }),
      'bomb.png',
      'too-many-pixels',
      /20000×20000 is 400\.0 megapixels, over the limit of 100\.0 megapixels/,
    );
  });

  test('one bad image is one error: the others in a batch still succeed', async () => {
    const inputs: (Buffer | string)[] = [DOG, Buffer.from('nope'), PHOTOS[1]!, Buffer.alloc(0)];
    const results = await Promise.allSettled(inputs.map((i) => prepareImage(i)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
    );
  });

  test('bad options are programming errors, not image errors', async () => {
    await assert.rejects(prepareImage(DOG, { cropSize: 0 }), RangeError);
    await assert.rejects(prepareImage(DOG, { maxPixels: -1 }), RangeError);
  });
});
