// examples/pipelines/speech-to-text.yaml end to end, as the README runs it: real LibriVox speech from Debian's
// pocketsphinx-testdata at its own 16 kHz mono and converted by ffmpeg to 48 kHz stereo (what a microphone or a
// WebRTC track gives), through FastResampleNode, AudioChunkerNode, Silero VAD, the utterance accumulator and
// PocketSphinx on a CPython worker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pitlane, ROOT, tempDir } from './helpers.mjs';
import { jsonLines } from './helpers/jsonl.mjs';
import { parseSphinxTranscription, wordErrorRate } from './helpers/wer.mjs';

const EXAMPLE = join(ROOT, 'examples', 'pipelines', 'speech-to-text.yaml');
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const CLIPS = [...parseSphinxTranscription(readFileSync(join(LIBRIVOX, 'transcription'), 'utf8'))];
/**
 * PocketSphinx alone (whole-clip decoding, test/pocketsphinx.test.mjs) gets 20 errors in these 71 words (28.2%);
 * the pipeline, which cuts utterances with a VAD first, is held to the same bound as that test.
 */
const WER_BOUND = 0.3;

const dir = tempDir('pitlane-speech-');

async function transcribe(file) {
  const r = await pitlane(['run', EXAMPLE, '-i', file]);
  assert.equal(r.code, 0, r.stderr);
  return jsonLines(r.stdout);
}

describe('speech-to-text example', () => {
  test('transcribes the LibriVox clips: {text, start, end} per utterance, WER within the bound', async () => {
    const hypotheses = [];
    for (const [id] of CLIPS) {
      const lines = await transcribe(join(LIBRIVOX, `${id}.wav`));
      assert.ok(lines.length >= 1, `${id}: no utterance`);
      for (const l of lines) {
        assert.deepEqual(Object.keys(l), ['text', 'start', 'end']);
        assert.ok(l.start >= 0 && l.end > l.start, `${id}: ${JSON.stringify(l)}`);
      }
      hypotheses.push(lines.map((l) => l.text).join(' '));
    }
    const wer = wordErrorRate(
      CLIPS.map(([, text]) => text),
      hypotheses,
    );
    assert.ok(wer < WER_BOUND, `WER ${wer}`);
  });

  test('48 kHz stereo input gives the same utterances as the 16 kHz mono original (resampled and mixed)', async () => {
    const [id] = CLIPS[0];
    const stereo = join(dir, 'clip-48k-stereo.wav');
    const ff = spawnSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      join(LIBRIVOX, `${id}.wav`),
      '-ar',
      '48000',
      '-ac',
      '2',
      stereo,
    ]);
    assert.equal(ff.status, 0, String(ff.stderr));
    const original = await transcribe(join(LIBRIVOX, `${id}.wav`));
    const converted = await transcribe(stereo);
    assert.equal(converted.length, original.length);
    converted.forEach((c, i) => {
      assert.ok(Math.abs(c.start - original[i].start) <= 0.064, `start ${c.start} vs ${original[i].start}`);
      assert.ok(Math.abs(c.end - original[i].end) <= 0.064, `end ${c.end} vs ${original[i].end}`);
    });
    const drift = wordErrorRate(
      original.map((l) => l.text),
      converted.map((l) => l.text),
    );
    assert.ok(drift <= 0.1, `the converted input's transcript differs by ${drift} of its words`);
  });
});
