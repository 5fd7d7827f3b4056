// The Whisper nodes (every RemoteMedia spelling) on whisper-micro-arch: Whisper's architecture in the
// transformers.js layout with synthetic weights, built by `npm run build:models`. It checks the code path —
// features, encoder, cached decoder, generation, decoding, the {text, start, end} output — not accuracy.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, pitlane } from './helpers.mjs';

const MODEL = join(ROOT, 'models', 'whisper-micro-arch');
const CLIP = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';

let dir;
before(() => (dir = mkdtempSync(join(tmpdir(), 'pitlane-whisper-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const manifest = (name, node) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ version: 'v1', metadata: { name }, nodes: [{ id: 'stt', ...node }] }));
  return path;
};

describe('Whisper nodes', () => {
  test('a model named the RemoteMedia way (base.en) fails validation naming the files a local folder needs', async () => {
    for (const node_type of ['RustWhisperNode', 'WhisperSTT', 'candle-whisper']) {
      const m = manifest(`${node_type}.json`, {
        node_type,
        params: { model_source: 'base.en', language: 'en' },
      });
      const r = await pitlane(['validate', m]);
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /\$\.nodes\[0\]\.params\.model_source +'base\.en' is not a model folder here: .*config\.json, generation_config\.json, preprocessor_config\.json, tokenizer\.json, tokenizer_config\.json, onnx\/encoder_model\.onnx, onnx\/decoder_model_merged\.onnx/,
      );
    }
    const partial = join(dir, 'partial-model');
    writeFileSync(join(dir, 'placeholder'), '');
    rmSync(partial, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(partial);
    writeFileSync(join(partial, 'config.json'), '{}');
    const m = manifest('partial.json', { node_type: 'HFWhisperNode', params: { model: 'partial-model' } });
    const r = await pitlane(['validate', m]);
    assert.match(
      r.stderr,
      /params\.model +the folder 'partial-model' lacks generation_config\.json, .*onnx\/decoder_model_merged\.onnx/,
    );
  });

  test('utterance frames become {text, start, end} through encoder, cached decoder and generation', async () => {
    const m = manifest('stt.json', {
      node_type: 'WhisperSTT',
      params: { model_source: MODEL, n_threads: 1 },
    });
    const r = await pitlane(['run', m, '-i', CLIP, '--frame-ms', '3000']);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      out.map((o) => [o.start, o.end]),
      [
        [0, 3],
        [3, 6],
        [6, 7.1],
      ],
    );
    for (const o of out) {
      assert.equal(typeof o.text, 'string');
      assert.ok(
        o.text.length > 0,
        'the micro model generates tokens (meaningless ones) until its length cap',
      );
    }
  });

  test('-o out.srt writes the transcripts as numbered SubRip cues', async () => {
    const m = manifest('srt.json', {
      node_type: 'WhisperSTT',
      params: { model_source: MODEL, n_threads: 1 },
    });
    const out = join(dir, 'out.srt');
    const r = await pitlane(['run', m, '-i', CLIP, '--frame-ms', '3000', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const cues = readFileSync(out, 'utf8').split('\n\n').filter(Boolean);
    assert.deepEqual(
      cues.map((c) => c.split('\n').slice(0, 2)),
      [
        ['1', '00:00:00,000 --> 00:00:03,000'],
        ['2', '00:00:03,000 --> 00:00:06,000'],
        ['3', '00:00:06,000 --> 00:00:07,100'],
      ],
    );
  });

  test('audio that is not 16 kHz mono is refused, naming the node, the rate and the fix', async () => {
    const m = manifest('stt48.json', { node_type: 'WhisperNode', params: { model_source: MODEL } });
    const r = await pitlane(['run', m, '-i', '-', '--sample-rate', '48000', '--channels', '2'], {
      input: Buffer.alloc(48000 * 2 * 4),
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /WhisperSTT 'stt' needs 16000 Hz mono audio but got 48000 Hz × 2; put a FastResampleNode/,
    );
  });
});
