import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioInputError } from '../core/errors.js';
import { decodeWav, looksLikeWav, wavHeader, wavSampleBytes } from './wav.js';

/** A WAV file by hand: a fmt chunk (format tag, channels, rate, bits) and the data bytes. */
function wav(
  fmt: { format?: number; channels?: number; rate?: number; bits?: number },
  data: Buffer,
  dataSize = data.length,
): Buffer {
  const format = fmt.format ?? 1;
  const channels = fmt.channels ?? 1;
  const rate = fmt.rate ?? 16_000;
  const bits = fmt.bits ?? 16;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(format, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * channels * bits) / 8, 28);
  h.writeUInt16LE((channels * bits) / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataSize, 40);
  return Buffer.concat([h, data]);
}

const refuse = (bytes: Buffer, pattern: RegExp): void => {
  assert.throws(
    () => decodeWav(bytes, 'in.wav'),
    (e: unknown) =>
      e instanceof AudioInputError &&
      e.code === 'PL_ERR_AUDIO_INPUT' &&
      /^in\.wav: /.test(e.message) &&
      pattern.test(e.message),
  );
};

describe('decodeWav', () => {
  test('decodes integer PCM of every width and float, interleaved, to f32 in [-1, 1]', () => {
    const s16 = Buffer.alloc(8);
    [0, 16384, -32768, 32767].forEach((v, i) => s16.writeInt16LE(v, i * 2));
    const a = decodeWav(wav({ channels: 2, rate: 48_000 }, s16), 'a.wav');
    assert.deepEqual([a.sampleRate, a.channels, a.encoding], [48_000, 2, '16-bit PCM']);
    assert.deepEqual(Array.from(a.samples), [0, 0.5, -1, 32767 / 32768]);

    const u8 = Buffer.from([128, 192, 0]);
    assert.deepEqual(Array.from(decodeWav(wav({ bits: 8 }, u8), 'b.wav').samples), [0, 0.5, -1]);

    const s24 = Buffer.alloc(6);
    s24.writeIntLE(4_194_304, 0, 3);
    s24.writeIntLE(-8_388_608, 3, 3);
    assert.deepEqual(Array.from(decodeWav(wav({ bits: 24 }, s24), 'c.wav').samples), [0.5, -1]);

    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(0.25, 0);
    f32.writeFloatLE(-0.75, 4);
    const f = decodeWav(wav({ format: 3, bits: 32 }, f32), 'd.wav');
    assert.deepEqual([Array.from(f.samples), f.encoding], [[0.25, -0.75], '32-bit float']);

    const f64 = Buffer.alloc(16);
    f64.writeDoubleLE(0.125, 0);
    f64.writeDoubleLE(-0.5, 8);
    assert.deepEqual(
      Array.from(decodeWav(wav({ format: 3, bits: 64 }, f64), 'e.wav').samples),
      [0.125, -0.5],
    );
  });

  test('refuses what is not a WAV, and headers that contradict the file, naming the file and the problem', () => {
    refuse(Buffer.from('{"not":"a wav"}\n'), /not a WAV file: it starts with "\{\\"no"/);
    refuse(Buffer.from('RIFF'), /shorter than a RIFF header/);
    refuse(wav({ channels: 0 }, Buffer.alloc(4)), /0 channels/);
    refuse(wav({ rate: 0 }, Buffer.alloc(4)), /sample rate of 0 Hz/);
    refuse(
      wav({}, Buffer.alloc(100)).subarray(0, 80),
      /truncated: the header announces 100 bytes of samples but the file holds 36/,
    );
    refuse(wav({}, Buffer.alloc(8), 0xffffffff), /announces 4294967295 bytes .*streaming or corrupt header/);
    refuse(wav({ channels: 2 }, Buffer.alloc(6)), /not a whole number of 4-byte frames/);
    refuse(wav({ format: 85 }, Buffer.alloc(4)), /WAVE format 85 is not one pitlane decodes/);
    refuse(wav({ bits: 12 }, Buffer.alloc(4)), /12-bit PCM samples are not a WAV encoding/);
    refuse(wav({}, Buffer.alloc(4)).subarray(0, 30), /"fmt " chunk is cut short/);
  });

  test('refuses NaN and infinite float samples, naming the sample, channel and time', () => {
    const f32 = Buffer.alloc(16);
    f32.writeFloatLE(0.1, 0);
    f32.writeFloatLE(0.2, 4);
    f32.writeFloatLE(0.3, 8);
    f32.writeFloatLE(Number.NaN, 12);
    refuse(
      wav({ format: 3, bits: 32, channels: 2, rate: 8000 }, f32),
      /sample 1 of channel 1 \(at 0\.000125 s\) is NaN/,
    );
  });
});

describe('WAV writing', () => {
  test('header and 16-bit samples decode back to what was written (clipped and rounded)', () => {
    const samples = new Float32Array([0, 0.5, -0.5, 1.5, -2]);
    const data = wavSampleBytes(samples, 's16');
    const file = Buffer.concat([wavHeader({ sampleRate: 22_050, channels: 1 }, 's16', data.length), data]);
    assert.ok(looksLikeWav(file));
    const back = decodeWav(file, 'out.wav');
    assert.equal(back.sampleRate, 22_050);
    assert.deepEqual(Array.from(back.samples), [0, 16384 / 32768, -16384 / 32768, 32767 / 32768, -1]);
    const f = wavSampleBytes(new Float32Array([0.3]), 'f32');
    const backF = decodeWav(
      Buffer.concat([wavHeader({ sampleRate: 8000, channels: 1 }, 'f32', 4), f]),
      'f.wav',
    );
    assert.equal(backF.samples[0], Math.fround(0.3));
  });
});
