import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileError } from '../../../core/errors.js';
import { imohashBytes, imohashFile, imohashHex } from './imohash.js';
import { Murmur3x64128Hasher, murmur3x64128 } from './murmur3.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** M(n) of algorithm.md: the k-th 16-byte block is the MurmurHash3_x64_128 digest of 'A' repeated k times. */
function testMessage(n: number): Uint8Array {
  const message = new Uint8Array(Math.ceil(n / 16) * 16);
  const hasher = new Murmur3x64128Hasher();
  const a = ascii('A');
  for (let offset = 0; offset < n; offset += 16) message.set(hasher.update(a).digest(), offset);
  return message.subarray(0, n);
}

describe('murmur3x64128', () => {
  // Expected values computed with an independent pure-Python port of the C reference (arbitrary-precision
  // ints, no 32-bit emulation), printing h1 and h2 big-endian; the fox value is the widely published one.
  const vectors: readonly [string, Uint8Array, number, string][] = [
    ['empty, seed 0', new Uint8Array(0), 0, '00000000000000000000000000000000'],
    ['empty, seed 1', new Uint8Array(0), 1, '4610abe56eff5cb551622daa78f83583'],
    ['"a"', ascii('a'), 0, '85555565f6597889e6b53a48510e895a'],
    ['"hello"', ascii('hello'), 0, 'cbd8a7b341bd9b025b1e906a48ae1d19'],
    ['fox', ascii('The quick brown fox jumps over the lazy dog'), 0, 'e34bbc7bbc071b6c7a433ca9c49a9347'],
    [
      'fox, seed 42',
      ascii('The quick brown fox jumps over the lazy dog'),
      42,
      '740dcf93fe0bd5d7c4546cf4ec705c8f',
    ],
    [
      '0..255 x3 + "xyz"',
      new Uint8Array([...Array.from({ length: 768 }, (_, i) => i % 256), ...ascii('xyz')]),
      0,
      '8ad796c487f97d1073945ec4ebd48a5f',
    ],
    [
      '0..30, seed 2^32-1',
      Uint8Array.from({ length: 31 }, (_, i) => i),
      0xffffffff,
      '872f4d7d5fd9858bcc1cece8a493c79b',
    ],
  ];
  for (const [name, data, seed, expected] of vectors) {
    test(name, () => {
      assert.equal(hex(murmur3x64128(data, seed)), expected);
    });
  }

  test('M(16) is the digest of "A"', () => {
    assert.equal(hex(testMessage(16)), '035fc2b79a29b17a387df29c46dd9937');
  });

  test('the incremental hasher agrees with the one-shot hash at every split', () => {
    const data = testMessage(300).subarray(3); // unaligned view, length 297
    for (const split of [0, 1, 7, 15, 16, 17, 31, 32, 100, 296, 297]) {
      const hasher = new Murmur3x64128Hasher();
      hasher.update(data.subarray(0, split));
      const early = hex(hasher.digest()); // digest must not disturb the state
      hasher.update(data.subarray(split));
      assert.equal(early, hex(murmur3x64128(data.subarray(0, split))), `prefix ${split}`);
      assert.equal(hex(hasher.digest()), hex(murmur3x64128(data)), `split ${split}`);
      assert.equal(hasher.length, data.length);
    }
  });

  test('rejects a seed outside uint32', () => {
    assert.throws(() => murmur3x64128(new Uint8Array(1), 2 ** 32), RangeError);
  });
});

describe('imohash', () => {
  // algorithm.md's test vectors (s, t, n, expected), on M(n).
  const vectors: readonly [number, number, number, string][] = [
    [16384, 131072, 0, '00000000000000000000000000000000'],
    [16384, 131072, 1, '016ac6dd306a3e594e711127c5b5a8e4'],
    [16384, 131072, 127, '7f0e0eaa0a415e2878303214a087fbab'],
    [16384, 131072, 128, '80017902d85ab752459758292a217ed8'],
    [16384, 131072, 4095, 'ff1fc7e3b9890469ee676df99f6ac7b7'],
    [16384, 131072, 4096, '80203d4ea589349dcdf63511a8d49d4a'],
    [16384, 131072, 131072, '808008ed886018d5cd37a9b35bbae286'],
    [16384, 131073, 131072, '808008ac6ab33ddcaadea68ba5ad4f05'],
    [16384, 131072, 500000, 'a0c21ea46738cf366d496962000a45f7'],
  ];
  const message = testMessage(500000);
  for (const [sampleSize, sampleThreshold, n, expected] of vectors) {
    test(`s=${sampleSize} t=${sampleThreshold} n=${n}`, () => {
      const options = { sampleSize, sampleThreshold };
      assert.equal(imohashHex(message.subarray(0, n), options), expected);
      assert.equal(hex(imohashBytes(message.subarray(0, n), options)), expected);
    });
  }

  test('defaults are s=16384, t=131072', () => {
    assert.equal(imohashHex(message), 'a0c21ea46738cf366d496962000a45f7');
  });

  test('sampling off (s=0 or t=0) hashes the whole message', () => {
    const whole = hex(murmur3x64128(message)).slice(6); // varint of 500000 is 3 bytes
    assert.equal(imohashHex(message, { sampleSize: 0 }).slice(6), whole);
    assert.equal(imohashHex(message, { sampleThreshold: 0 }).slice(6), whole);
    assert.notEqual(imohashHex(message).slice(6), whole);
  });

  test('buffer: a byte outside the samples does not change the hash, one inside does', () => {
    const copy = message.slice();
    copy[100000] = copy[100000]! ^ 1; // between the first sample and the middle one
    assert.equal(imohashHex(copy), imohashHex(message));
    copy[250000] = copy[250000]! ^ 1; // the middle sample starts at 250000
    assert.notEqual(imohashHex(copy), imohashHex(message));
  });

  test('rejects a negative or fractional parameter', () => {
    assert.throws(() => imohashHex(message, { sampleSize: -1 }), RangeError);
    assert.throws(() => imohashHex(message, { sampleThreshold: 1.5 }), RangeError);
  });
});

describe('imohashFile', () => {
  let dir = '';
  const message = testMessage(500000);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pitlane-imohash-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const size of [0, 1, 131072, 131073, 500000]) {
    test(`a file of ${size} bytes hashes as the same bytes in memory`, async () => {
      const path = join(dir, `m-${size}.bin`);
      await writeFile(path, message.subarray(0, size));
      assert.equal(await imohashFile(path), imohashHex(message.subarray(0, size)));
      const options = { sampleSize: 1000, sampleThreshold: 5000 };
      assert.equal(await imohashFile(path, options), imohashHex(message.subarray(0, size), options));
    });
  }

  test('matches the 500000-byte test vector', async () => {
    const path = join(dir, 'vector.bin');
    await writeFile(path, message);
    assert.equal(await imohashFile(path), 'a0c21ea46738cf366d496962000a45f7');
  });

  test('sampled mode reads only the samples', async () => {
    const outside = message.slice();
    outside[200000] = outside[200000]! ^ 0xff; // after the first sample, before the middle one (250000)
    const inside = message.slice();
    inside[499999] = inside[499999]! ^ 0xff; // last byte, in the last sample
    await writeFile(join(dir, 'original.bin'), message);
    await writeFile(join(dir, 'outside.bin'), outside);
    await writeFile(join(dir, 'inside.bin'), inside);
    const original = await imohashFile(join(dir, 'original.bin'));
    assert.equal(await imohashFile(join(dir, 'outside.bin')), original);
    assert.notEqual(await imohashFile(join(dir, 'inside.bin')), original);
  });

  test('a missing file is a FileError naming the path', async () => {
    const path = join(dir, 'no-such-image.jpg');
    await assert.rejects(imohashFile(path), (error: unknown) => {
      assert.ok(error instanceof FileError);
      assert.equal(error.path, path);
      assert.equal(error.code, 'PL_ERR_FILE');
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      return true;
    });
  });

  test('a directory is a FileError naming the path', async () => {
    await assert.rejects(
      imohashFile(dir),
      (error: unknown) => error instanceof FileError && error.path === dir,
    );
  });
});
