// The audio I/O nodes under RemoteMedia's names (MediaReaderNode, AudioInput, AudioOutput) and the espeak-ng TTS
// node, through the real CLI: a LibriVox clip from Debian's pocketsphinx-testdata and Debian's espeak-ng.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jsonLines as lines } from './helpers/jsonl.mjs';
import { pitlane } from './helpers.mjs';

const CLIP = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav';

let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pitlane-audio-io-'));
  copyFileSync(CLIP, join(dir, 'clip.wav'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const manifest = (name, yaml) => {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
};

describe('audio I/O nodes', () => {
  test('MediaReaderNode reads a file named relative to the manifest in chunk_size frames', async () => {
    const m = manifest(
      'reader.yaml',
      'version: v1\nmetadata: {name: r}\nnodes:\n  - {id: read, node_type: MediaReaderNode, params: {path: clip.wav, chunk_size: 4096}}\n',
    );
    const r = await pitlane(['run', m]);
    assert.equal(r.code, 0, r.stderr);
    const frames = lines(r.stdout);
    assert.deepEqual(
      frames.slice(0, 2).map((f) => [f.frames, f.timestamp_us]),
      [
        [4096, 0],
        [4096, 256000],
      ],
    );
    const total = (readFileSync(CLIP).length - 44) / 2;
    assert.equal(
      frames.reduce((n, f) => n + f.frames, 0),
      total,
    );
  });

  test('AudioInput and AudioOutput pass frames on and name the format they declared when another comes', async () => {
    const ok = manifest(
      'ok.yaml',
      [
        'version: v1',
        'metadata: {name: ok}',
        'nodes:',
        '  - {id: in, node_type: AudioInput, params: {sample_rate: 16000, channels: 1}}',
        '  - {id: out, node_type: AudioOutput, params: {sample_rate: 16000, channels: 1, format: f32}}',
        'connections: [{from: in, to: out}]',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'copy.wav');
    const r = await pitlane(['run', ok, '-i', join(dir, 'clip.wav'), '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(out).subarray(44), readFileSync(CLIP).subarray(44));

    const wrong = manifest(
      'wrong.yaml',
      'version: v1\nmetadata: {name: w}\nnodes:\n  - {id: mic, node_type: AudioInput, params: {sample_rate: 48000}}\n',
    );
    const bad = await pitlane(['run', wrong, '-i', join(dir, 'clip.wav')]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /node 'mic' \(AudioInput\) failed on item 0: AudioInput 'mic' declares 48000 Hz × any channel\(s\) but got 16000 Hz × 1; put a FastResampleNode/,
    );
  });

  test('EspeakTTSNode speaks each text as one 22050 Hz mono frame carrying the text', async () => {
    const m = manifest(
      'tts.yaml',
      'version: v1\nmetadata: {name: tts}\nnodes:\n  - {id: tts, node_type: EspeakTTSNode, params: {voice: en-us, speed: 1.2}}\n',
    );
    const r = await pitlane(['run', m], {
      input: '"Hello, world."\n{"text": "Second sentence here."}\n"  "\n',
    });
    assert.equal(r.code, 0, r.stderr);
    const frames = lines(r.stdout);
    assert.equal(frames.length, 2); // the blank text is dropped
    assert.deepEqual(
      frames.map((f) => [f.sample_rate, f.channels, f.metadata.text]),
      [
        [22050, 1, 'Hello, world.'],
        [22050, 1, 'Second sentence here.'],
      ],
    );
    assert.ok(frames[0].duration > 0.3 && frames[0].duration < 5, `${frames[0].duration} s of speech`);
    assert.equal(frames[1].timestamp_us, Math.round(frames[0].duration * 1e6));
    const bad = await pitlane(['run', m, '--on-error', 'skip'], { input: '42\n' });
    assert.match(bad.stdout, /EspeakTTSNode takes text: a string, or an object with a \\"text\\" string/);
  });
});
