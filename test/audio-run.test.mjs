// `pitlane run` with audio in and out, on a real LibriVox clip from Debian's pocketsphinx-testdata (16 kHz mono,
// 16-bit) and files ffmpeg makes from it: frames, WAV output, raw PCM on stdin, other formats through ffmpeg, live
// pacing, and the errors for bad audio.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ffmpeg, PASS_MANIFEST, slowStartManifest } from './helpers/audio.mjs';
import { jsonLines as lines } from './helpers/jsonl.mjs';
import { PITLANE, pitlane, run } from './helpers.mjs';

const CLIP = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';
const CLIP_SAMPLES = 113_600; // 7.1 s at 16 kHz

let dir;
let pass;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pitlane-audio-'));
  pass = join(dir, 'pass.yaml');
  writeFileSync(pass, PASS_MANIFEST);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pitlane run -i audio', () => {
  test('a WAV becomes 20 ms frames with timestamps; JSONL shows their metadata', async () => {
    const r = await pitlane(['run', pass, '-i', CLIP]);
    assert.equal(r.code, 0, r.stderr);
    const frames = lines(r.stdout);
    assert.equal(frames.length, Math.ceil(CLIP_SAMPLES / 320));
    assert.deepEqual(frames[1], {
      type: 'audio',
      sample_rate: 16000,
      channels: 1,
      frames: 320,
      duration: 0.02,
      timestamp_us: 20000,
    });
    assert.equal(frames.at(-1).frames, CLIP_SAMPLES % 320 || 320);
    assert.equal(
      frames.reduce((n, f) => n + f.frames, 0),
      CLIP_SAMPLES,
    );
  });

  test('-o out.wav writes the audio frames back: the same samples, bit for bit', async () => {
    const out = join(dir, 'copy.wav');
    const r = await pitlane(['run', pass, '-i', CLIP, '-o', out, '--chunk-size', '4000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(readFileSync(out).subarray(44), readFileSync(CLIP).subarray(44));
  });

  test('--audio-samples puts the samples in JSONL; raw s16le on stdin gives the same frames as the WAV', async () => {
    const fromWav = lines(
      (await pitlane(['run', pass, '-i', CLIP, '--audio-samples', '--frame-ms', '100'])).stdout,
    );
    const raw = readFileSync(CLIP).subarray(44);
    const r = await pitlane(
      [
        'run',
        pass,
        '-i',
        '-',
        '--sample-rate',
        '16000',
        '--pcm-format',
        's16le',
        '--audio-samples',
        '--frame-ms',
        '100',
      ],
      { input: raw },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), fromWav);
    const first = Buffer.from(fromWav[0].samples_f32le_base64, 'base64');
    assert.equal(first.length, 1600 * 4);
    assert.equal(first.readFloatLE(4), raw.readInt16LE(2) / 32768);
  });

  test('--streams N replays the input as N streams with their own ids, frame by frame', async () => {
    const r = await pitlane([
      'run',
      pass,
      '-i',
      CLIP,
      '--streams',
      '3',
      '--frame-ms',
      '500',
      '--threads',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const frames = lines(r.stdout);
    assert.deepEqual(
      frames.slice(0, 4).map((f) => [f.stream_id, f.timestamp_us]),
      [
        ['s0', 0],
        ['s1', 0],
        ['s2', 0],
        ['s0', 500000],
      ],
    );
    for (const id of ['s0', 's1', 's2']) {
      const own = frames.filter((f) => f.stream_id === id);
      assert.equal(
        own.reduce((n, f) => n + f.frames, 0),
        CLIP_SAMPLES,
      );
    }
  });

  test('--streams N on threads: each takes a share of the streams; outputs and counters are those of one thread', async () => {
    // Analysers of the stream-health example (their events carry stream time, not the wall clock).
    const noClock = join(dir, 'analysers.yaml');
    writeFileSync(
      noClock,
      [
        'version: v1',
        'metadata: {name: analysers}',
        'nodes:',
        '  - {id: level, node_type: AudioLevelNode}',
        '  - {id: silence, node_type: SilenceDetectorNode}',
        '  - {id: clipping, node_type: ClippingDetectorNode}',
        '',
      ].join('\n'),
    );
    const args = ['run', noClock, '-i', CLIP, '--streams', '5', '--json-stats'];
    const [one, two] = await Promise.all([
      pitlane([...args, '--threads', '1']),
      pitlane([...args, '--threads', '2']),
    ]);
    assert.equal(one.code + two.code, 0, one.stderr + two.stderr);
    const sorted = (text) => text.trim().split('\n').sort();
    assert.deepEqual(sorted(two.stdout), sorted(one.stdout));
    const [a, b] = [one, two].map((r) => JSON.parse(r.stderr.trim().split('\n').at(-1)));
    assert.equal(b.threads, 2);
    assert.equal(a.threads, undefined);
    assert.deepEqual(
      b.nodes.map((n) => [n.id, n.received, n.emitted]),
      a.nodes.map((n) => [n.id, n.received, n.emitted]),
    );
    assert.equal(b.nodes[0].received, 5 * Math.ceil(CLIP_SAMPLES / 320));
    assert.equal(b.frame_latency.count, a.frame_latency.count);
    // Per stream, outputs keep their order.
    const times = (text, id) =>
      lines(text)
        .filter((e) => e.stream_id === id)
        .map((e) => e.timestamp_us);
    assert.deepEqual(times(two.stdout, 's4'), times(one.stdout, 's4'));
  });

  test('--threads: only for several streams of an audio input, and only to JSONL', async () => {
    const lone = await pitlane(['run', pass, '-i', CLIP, '--threads', '2']);
    assert.equal(lone.code, 2);
    assert.match(lone.stderr, /--threads splits the streams of an audio input: give it with --streams N/);
    const wav = await pitlane([
      'run',
      pass,
      '-i',
      CLIP,
      '--streams',
      '2',
      '--threads',
      '2',
      '-o',
      join(dir, 'x.wav'),
    ]);
    assert.equal(wav.code, 2);
    assert.match(wav.stderr, /--threads needs a JSONL output/);
  });

  test('other formats go through ffmpeg: 48 kHz stereo FLAC keeps its rate and channels', async () => {
    const flac = join(dir, 'clip48.flac');
    ffmpeg('-i', CLIP, '-ar', '48000', '-ac', '2', flac);
    const r = await pitlane(['run', pass, '-i', flac, '--json-stats']);
    assert.equal(r.code, 0, r.stderr);
    const frames = lines(r.stdout);
    assert.deepEqual([frames[0].sample_rate, frames[0].channels, frames[0].frames], [48000, 2, 960]);
    assert.ok(Math.abs(frames.reduce((n, f) => n + f.frames, 0) - CLIP_SAMPLES * 3) < 48);
    assert.equal(JSON.parse(r.stderr.trim().split('\n').at(-1)).frame_latency.count, frames.length);
  });

  test('without ffmpeg, a non-WAV audio file gets an error saying ffmpeg is needed', async () => {
    const mp3 = join(dir, 'clip.mp3');
    ffmpeg('-i', CLIP, mp3);
    const r = await run(process.execPath, [PITLANE, 'run', pass, '-i', mp3], {
      env: { PATH: '/nonexistent' },
    });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /PL_ERR_AUDIO_INPUT: .*clip\.mp3: not a WAV file; other audio formats are decoded with ffmpeg, which is not installed/,
    );
  });

  test('bad audio files: exit 2 with the file and the problem, nothing written', async () => {
    const wav = readFileSync(CLIP);
    const cases = [
      [
        'cut.wav',
        wav.subarray(0, 1000),
        /cut\.wav: truncated: the header announces \d+ bytes of samples but the file holds 956/,
      ],
      ['text.wav', Buffer.from('hello\n'), /text\.wav: not a WAV file/],
      [
        'zero-channels.wav',
        Buffer.concat([wav.subarray(0, 22), Buffer.from([0, 0]), wav.subarray(24, 1044)]),
        /zero-channels\.wav: the header says 0 channels/,
      ],
      [
        'zero-rate.wav',
        Buffer.concat([wav.subarray(0, 24), Buffer.alloc(4), wav.subarray(28, 1044)]),
        /zero-rate\.wav: the header says a sample rate of 0 Hz/,
      ],
    ];
    for (const [name, bytes, pattern] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const r = await pitlane(['run', pass, '-i', path]);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stdout, '');
    }
    const missing = await pitlane(['run', pass, '-i', join(dir, 'no-such.wav')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /PL_ERR_FILE: .*no-such\.wav: no such file/);
    const odd = await pitlane(
      ['run', pass, '-i', '-', '--sample-rate', '8000', '--channels', '2', '--pcm-format', 's16le'],
      {
        input: Buffer.alloc(6),
      },
    );
    assert.equal(odd.code, 2);
    assert.match(odd.stderr, /stdin: the raw PCM ends in the middle of a frame \(2 of 4 bytes\)/);
  });

  test('--realtime releases frames at the pace of the audio, not faster', async () => {
    const short = join(dir, 'short.wav');
    ffmpeg('-i', CLIP, '-t', '0.5', short);
    const r = await pitlane(['run', pass, '-i', short, '--realtime', '--json-stats']);
    assert.equal(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stderr.trim().split('\n').at(-1));
    // Every frame is accounted for (a loaded machine may make the pass-through late and drop one: counted).
    assert.equal(stats.nodes[0].received + stats.frames_dropped_behind, 25);
    // Pacing is the behaviour asked for: the last frame is not released before its time in the audio (the clock
    // starts when the first frame is taken, so 24 frame times of 20 ms follow it).
    assert.ok(stats.duration_ms >= 480, `${stats.duration_ms} ms for 0.5 s of audio`);
  });

  test('--warmup S: the first S seconds of a live run are processed and written, but not timed', async () => {
    const two = join(dir, 'two-seconds.wav');
    ffmpeg('-i', CLIP, '-t', '2', two);
    const r = await pitlane(['run', pass, '-i', two, '--realtime', '--warmup', '1', '--json-stats']);
    assert.equal(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stderr.trim().split('\n').at(-1));
    // Every frame is written unless dropped; drops in the warm-up are not counted (a loaded machine may make one).
    const written = lines(r.stdout).length;
    // The first frame is never dropped: warm-up frames were written, and not timed.
    assert.ok(
      written + stats.frames_dropped_behind <= 100 && written > stats.frame_latency.count,
      `${written}`,
    );
    // Frames from 1 s on: 50 of the 100 (one dropped by a loaded machine after the warm-up would be counted).
    // (drops from a full queue are counted whenever they happen, so the sum may pass 50 on a loaded machine).
    assert.ok(
      stats.frame_latency.count <= 50 && stats.frame_latency.count + stats.frames_dropped_behind >= 50,
    );
    const notLive = await pitlane(['run', pass, '-i', two, '--warmup', '1']);
    assert.equal(notLive.code, 2);
    assert.match(
      notLive.stderr,
      /--warmup applies to a live run: give it with --realtime and an audio input/,
    );
  });

  test('a live pipeline that cannot keep up drops its oldest frames, counts them and warns', async () => {
    const clip = join(dir, 'one-second.wav');
    ffmpeg('-i', CLIP, '-t', '1', clip);
    const slow = join(dir, 'slow.yaml');
    // 3 s, longer than the clip: the frames that arrive meanwhile overflow the input queue.
    writeFileSync(slow, slowStartManifest(3));
    const r = await pitlane(['run', slow, '-i', clip, '--realtime', '--json-stats']);
    assert.equal(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stderr.trim().split('\n').at(-1));
    const node = stats.nodes.find((n) => n.id === 'slow');
    assert.ok(stats.frames_dropped_behind > 0);
    assert.match(r.stderr, /warning: the pipeline fell behind real time: \d+ frame\(s\) were dropped/);
    // Every frame is accounted for: processed, dropped by the queue, or dropped by the source.
    assert.equal(node.received + stats.frames_dropped_behind, 50);
    assert.equal(lines(r.stdout).length, node.received);
  });
});
