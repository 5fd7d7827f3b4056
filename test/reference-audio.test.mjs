// The CPython reference executor (baselines/python/pitlane_ref) against pitlane on audio: the same `run -i` on
// real LibriVox clips from Debian's pocketsphinx-testdata (and files ffmpeg makes from one) must print the same
// JSONL frames, byte for byte, write the same WAV, and refuse the same bad audio with the same words and exit code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ffmpeg, PASS_MANIFEST, slowStartManifest } from './helpers/audio.mjs';
import { PITLANE, REFERENCE, ROOT, pitlane, reference, run } from './helpers.mjs';

/** Node types (names and aliases) of the pitlane under test: a differential test of a node family is skipped
 * until its TypeScript nodes are on this branch. */
const PITLANE_TYPES = (() => {
  const r = spawnSync(process.execPath, [PITLANE, 'nodes', '--json'], {
    encoding: 'utf8',
  });
  return r.status === 0
    ? new Set(JSON.parse(r.stdout).flatMap((t) => [t.name, ...(t.aliases ?? [])]))
    : new Set();
})();
const needs = (...types) => {
  const missing = types.filter((t) => !PITLANE_TYPES.has(t));
  return missing.length > 0 ? { skip: `needs ${missing.join(', ')} on main` } : {};
};

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const CLIPS = readdirSync(LIBRIVOX)
  .filter((f) => f.endsWith('.wav'))
  .map((f) => join(LIBRIVOX, f));
const CLIP = CLIPS[0];

let dir;
let pass;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pitlane-ref-audio-'));
  pass = join(dir, 'pass.yaml');
  writeFileSync(pass, PASS_MANIFEST);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs both CLIs with the same arguments (and stdin); asserts the same exit code and stdout; returns both. */
async function both(args, opts) {
  const [p, r] = await Promise.all([pitlane(['run', ...args], opts), reference(['run', ...args], opts)]);
  assert.equal(r.code, p.code, `exit codes differ\npitlane: ${p.stderr}\nreference: ${r.stderr}`);
  assert.equal(r.stdout, p.stdout);
  return { p, r };
}

describe('reference executor: audio in and out like pitlane run', () => {
  test('every LibriVox clip: the same JSONL frames, samples included', async () => {
    assert.ok(CLIPS.length >= 4, `LibriVox clips in ${LIBRIVOX}`);
    for (const clip of CLIPS) {
      const { p } = await both([pass, '-i', clip, '--audio-samples']);
      assert.equal(p.code, 0, p.stderr);
      const first = JSON.parse(p.stdout.split('\n')[0]);
      assert.deepEqual(
        [first.type, first.sample_rate, first.channels, first.frames, first.timestamp_us],
        ['audio', 16000, 1, 320, 0],
      );
    }
  });

  test('the same frames at odd frame lengths, 48 kHz stereo FLAC (ffmpeg), float, 24- and 8-bit WAV', async () => {
    const files = {
      'c48.flac': ['-ar', '48000', '-ac', '2'],
      'f32.wav': ['-ar', '44100', '-ac', '2', '-c:a', 'pcm_f32le'],
      's24.wav': ['-c:a', 'pcm_s24le'],
      'u8.wav': ['-c:a', 'pcm_u8'],
      's32.wav': ['-ac', '3', '-c:a', 'pcm_s32le'],
    };
    for (const [name, opts] of Object.entries(files)) {
      const path = join(dir, name);
      ffmpeg('-i', CLIP, '-t', '2', ...opts, path);
      const { p } = await both([pass, '-i', path, '--audio-samples', '--frame-ms', '7.3']);
      assert.equal(p.code, 0, `${name}: ${p.stderr}`);
    }
    const { p } = await both([pass, '-i', join(dir, 'f32.wav'), '--chunk-size', '1000']);
    assert.equal(p.stdout.trim().split('\n').length, Math.ceil((2 * 44100) / 1000));
  });

  test('raw PCM on stdin, s16le and f32le, gives the same frames', async () => {
    const raw = readFileSync(CLIP).subarray(44);
    const s16 = await both(
      [pass, '-i', '-', '--sample-rate', '16000', '--pcm-format', 's16le', '--audio-samples'],
      { input: raw },
    );
    assert.equal(s16.p.code, 0, s16.p.stderr);
    const f32 = Buffer.alloc(raw.length * 2);
    for (let i = 0; i < raw.length / 2; i++) f32.writeFloatLE(raw.readInt16LE(i * 2) / 32768, i * 4);
    const stereo = await both(
      [pass, '-i', '-', '--sample-rate', '8000', '--channels', '2', '--frame-ms', '30'],
      { input: f32 },
    );
    assert.equal(stereo.p.code, 0, stereo.p.stderr);
  });

  test('-o out.wav: the same file, byte for byte', async () => {
    const a = join(dir, 'p.wav');
    const b = join(dir, 'r.wav');
    const [p, r] = await Promise.all([
      pitlane(['run', pass, '-i', CLIP, '-o', a, '--chunk-size', '333']),
      reference(['run', pass, '-i', CLIP, '-o', b, '--chunk-size', '333']),
    ]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(readFileSync(b), readFileSync(a));
    // A float WAV with out-of-range samples: both clip and round them the same way.
    const loud = join(dir, 'loud.wav');
    ffmpeg('-i', CLIP, '-t', '1', '-af', 'volume=8', '-c:a', 'pcm_f32le', loud);
    const [p2, r2] = await Promise.all([
      pitlane(['run', pass, '-i', loud, '-o', a]),
      reference(['run', pass, '-i', loud, '-o', b]),
    ]);
    assert.equal(p2.code + r2.code, 0, p2.stderr + r2.stderr);
    assert.deepEqual(readFileSync(b), readFileSync(a));
  });

  test('bad audio: the same exit code and the same problem words', async () => {
    const wav = readFileSync(CLIP);
    const nan = Buffer.alloc(20);
    nan.writeFloatLE(Number.NaN, 8);
    const cases = [
      ['cut.wav', wav.subarray(0, 1000), /truncated: the header announces \d+ bytes/],
      ['text.wav', Buffer.from('hello\n'), /not a WAV file/],
      [
        'zc.wav',
        Buffer.concat([wav.subarray(0, 22), Buffer.from([0, 0]), wav.subarray(24, 1044)]),
        /0 channels/,
      ],
      [
        'zr.wav',
        Buffer.concat([wav.subarray(0, 24), Buffer.alloc(4), wav.subarray(28, 1044)]),
        /rate of 0 Hz/,
      ],
    ];
    const error = (stderr) => stderr.split('\n').find((l) => l.startsWith('error '));
    for (const [name, bytes, pattern] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const { p, r } = await both([pass, '-i', path]);
      assert.equal(p.code, 2, p.stderr);
      assert.match(error(r.stderr), pattern);
      assert.equal(error(r.stderr), error(p.stderr));
    }
    for (const [input, args] of [
      [nan, ['--sample-rate', '16000']],
      [Buffer.alloc(6), ['--sample-rate', '8000', '--channels', '2', '--pcm-format', 's16le']],
    ]) {
      const { p, r } = await both([pass, '-i', '-', ...args], { input });
      assert.equal(p.code, 2, p.stderr);
      assert.match(error(r.stderr), /^error PL_ERR_AUDIO_INPUT: stdin: /);
      assert.equal(error(r.stderr), error(p.stderr));
    }
  });

  test('--streams N replays the input as N streams, frame by frame, as pitlane does on one thread', async () => {
    const args = ['run', pass, '-i', CLIP, '--streams', '3', '--frame-ms', '7', '--audio-samples'];
    const [p, r] = await Promise.all([pitlane([...args, '--threads', '1']), reference(args)]);
    assert.equal(p.code + r.code, 0, p.stderr + r.stderr);
    assert.equal(r.stdout, p.stdout);
    assert.match(p.stdout, /"stream_id":"s2"/);
  });

  test('latency follows events: the stream-health example times as many outputs in both', async () => {
    const example = join(ROOT, 'examples', 'pipelines', 'stream-health.yaml');
    const [p, r] = await Promise.all([
      pitlane(['run', example, '-i', CLIP, '--json-stats']),
      reference(['run', example, '-i', CLIP, '--stats']),
    ]);
    assert.equal(p.code + r.code, 0, p.stderr + r.stderr);
    const pl = JSON.parse(p.stderr.trim().split('\n').at(-1)).frame_latency;
    const ref = JSON.parse(r.stderr.trim().split('\n').at(-1)).frame_latency;
    // Every output is an event made from a frame (health_timing's depend on the wall clock, so the two runs may
    // differ in number): each executor times all of its own.
    assert.equal(pl.count, p.stdout.trim().split('\n').length);
    assert.equal(ref.count, r.stdout.trim().split('\n').length);
  });

  test('--json-stats: the live trial of the benchmark (--realtime --streams N) reads the same keys from both', async () => {
    const example = join(ROOT, 'examples', 'pipelines', 'stream-health.yaml');
    const short = join(dir, 'short-live.wav');
    ffmpeg('-i', CLIP, '-t', '1', short);
    const args = ['run', example, '-i', short, '--realtime', '--streams', '2', '--json-stats'];
    const [p, r] = await Promise.all([pitlane(args), reference(args)]);
    assert.equal(p.code + r.code, 0, p.stderr + r.stderr);
    const pl = JSON.parse(p.stderr.trim().split('\n').at(-1));
    const ref = JSON.parse(r.stderr.trim().split('\n').at(-1));
    for (const stats of [pl, ref]) {
      assert.equal(stats.state, 'completed');
      assert.equal(typeof stats.frames_dropped_behind, 'number');
      assert.ok(stats.frame_latency.count > 0 && stats.frame_latency.p50_us <= stats.frame_latency.p99_us);
    }
    assert.deepEqual(
      ref.nodes.map((n) => [n.id, n.type]),
      pl.nodes.map((n) => [n.id, n.type]),
    );
  });

  test('--warmup S: both leave the first S seconds of a live run out of the latency, and only those', async () => {
    const two = join(dir, 'two-seconds-live.wav');
    ffmpeg('-i', CLIP, '-t', '2', two);
    const args = ['run', pass, '-i', two, '--realtime', '--warmup', '1', '--streams', '2', '--json-stats'];
    const [p, r] = await Promise.all([pitlane([...args, '--threads', '1']), reference(args)]);
    assert.equal(p.code + r.code, 0, p.stderr + r.stderr);
    for (const [who, run] of [
      ['pitlane', p],
      ['reference', r],
    ]) {
      const stats = JSON.parse(run.stderr.trim().split('\n').at(-1));
      // 2 streams × 50 frames after the first second (a frame dropped by a loaded machine is counted instead).
      // (drops from a full queue are counted whenever they happen, so the sum may pass 100 on a loaded machine).
      const timed = stats.frame_latency.count;
      assert.ok(timed <= 100 && timed + stats.frames_dropped_behind >= 100, `${who}: ${timed} timed`);
      // Warm-up frames are written too (a drop in the warm-up, on a loaded machine, is not counted).
      const written = run.stdout.trim().split('\n').length;
      assert.ok(written + stats.frames_dropped_behind <= 200, who);
      // The first frame time is never dropped: warm-up frames were written, and not timed.
      assert.ok(written > stats.frame_latency.count, `${who}: ${written} lines`);
    }
    const notLive = await reference(['run', pass, '-i', two, '--warmup', '1']);
    assert.equal(notLive.code, 2);
    assert.match(notLive.stderr, /--warmup applies to a live run/);
  });

  test('--stats reports per-frame latency under pitlane --json-stats key names', async () => {
    const [p, r] = await Promise.all([
      pitlane(['run', pass, '-i', CLIP, '--json-stats']),
      reference(['run', pass, '-i', CLIP, '--stats']),
    ]);
    assert.equal(p.code + r.code, 0, p.stderr + r.stderr);
    const pl = JSON.parse(p.stderr.trim().split('\n').at(-1)).frame_latency;
    const ref = JSON.parse(r.stderr.trim().split('\n').at(-1)).frame_latency;
    assert.deepEqual(Object.keys(ref), Object.keys(pl));
    assert.equal(ref.count, pl.count);
    assert.ok(ref.p50_us > 0 && ref.p50_us <= ref.p99_us && ref.p99_us <= ref.max_us);
  });

  test('--realtime: paced, and a pipeline that cannot keep up drops frames, counted and warned about', async () => {
    const clip = join(dir, 'one-second.wav');
    ffmpeg('-i', CLIP, '-t', '1', clip);
    const slow = join(dir, 'slow.yaml');
    writeFileSync(slow, slowStartManifest(2));
    const r = await reference(['run', slow, '-i', clip, '--realtime', '--stats']);
    assert.equal(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stderr.trim().split('\n').at(-1));
    assert.ok(stats.frames_dropped_behind > 0);
    assert.match(r.stderr, /warning: the pipeline is behind real time/);
    assert.equal(stats.stats.slow.received + stats.frames_dropped_behind, 50);
    assert.equal(r.stdout.trim().split('\n').length, stats.stats.slow.received);
  });
});

describe('reference executor: audio nodes give the events pitlane gives, byte for byte', () => {
  const ANALYSERS = [
    ['AudioLevelNode', { low_volume_threshold_db: -20.0, silence_threshold_db: -50.0 }],
    [
      'SilenceDetectorNode',
      { silence_threshold_db: -50.0, sustained_silence_ms: 500.0, dropout_count_threshold: 3 },
    ],
    ['ClippingDetectorNode', { saturation_threshold: 0.99, saturation_ratio_threshold: 1.0 }],
    ['ChannelBalanceNode', { imbalance_threshold_db: 10.0, dead_channel_threshold_db: -60.0 }],
  ];
  test(
    'stream health: each analyser alone, and feeding HealthEmitterNode (its `ts`, wall-clock seconds, aside)',
    needs(...ANALYSERS.map(([t]) => t), 'HealthEmitterNode'),
    async () => {
      // The clip, and a loud, clipped, one-sided 44.1 kHz stereo version of it in 13 ms frames.
      const loud = join(dir, 'loud-stereo.wav');
      ffmpeg(
        '-i',
        CLIP,
        '-af',
        'volume=30,pan=stereo|c0=c0|c1=0.05*c0',
        '-ar',
        '44100',
        '-c:a',
        'pcm_f32le',
        loud,
      );
      const inputs = [
        ['-i', CLIP],
        ['-i', loud, '--frame-ms', '13'],
      ];
      const maskTs = (stdout) => stdout.replace(/"ts":"\d+"/g, '"ts":"T"');
      for (const [type, params] of ANALYSERS) {
        const alone = join(dir, `${type}.json`);
        writeFileSync(
          alone,
          JSON.stringify({
            version: 'v1',
            metadata: { name: type },
            nodes: [{ id: 'a', node_type: type, params }],
          }),
        );
        const chained = join(dir, `${type}-health.json`);
        writeFileSync(
          chained,
          JSON.stringify({
            version: 'v1',
            metadata: { name: `${type} health` },
            nodes: [
              { id: 'a', node_type: type, params },
              { id: 'h', node_type: 'HealthEmitterNode', params: { health_threshold: 0.7 } },
            ],
            connections: [{ from: 'a', to: 'h' }],
          }),
        );
        for (const input of inputs) {
          const { p } = await both([alone, ...input]);
          assert.equal(p.code, 0, p.stderr);
          assert.match(p.stdout, /^\{"_schema":"/);
          const [pc, rc] = await Promise.all([
            pitlane(['run', chained, ...input]),
            reference(['run', chained, ...input]),
          ]);
          assert.equal(pc.code + rc.code, 0, pc.stderr + rc.stderr);
          assert.equal(maskTs(rc.stdout), maskTs(pc.stdout), `${type} -> HealthEmitterNode`);
          assert.match(pc.stdout, /"type":"health"/);
        }
      }
    },
  );

  test(
    'EventCorrelatorNode: the same alerts and incidents (their random ids aside)',
    needs('EventCorrelatorNode'),
    async () => {
      const loud = join(dir, 'loud-corr.wav');
      ffmpeg('-i', CLIP, '-af', 'volume=30,pan=stereo|c0=c0|c1=0.05*c0', '-c:a', 'pcm_f32le', loud);
      const m = join(dir, 'corr.json');
      writeFileSync(
        m,
        JSON.stringify({
          version: 'v1',
          metadata: { name: 'corr' },
          nodes: [
            { id: 'clip', node_type: 'ClippingDetectorNode' },
            {
              id: 'corr',
              node_type: 'EventCorrelatorNode',
              params: { correlation_window_ms: 100, min_events_for_incident: 1 },
            },
          ],
          connections: [{ from: 'clip', to: 'corr' }],
        }),
      );
      const [p, r] = await Promise.all([
        pitlane(['run', m, '-i', loud, '--frame-ms', '13']),
        reference(['run', m, '-i', loud, '--frame-ms', '13']),
      ]);
      assert.equal(p.code + r.code, 0, p.stderr + r.stderr);
      const masked = (out) => out.replace(/"inc_[0-9a-f]{8}"/g, '"inc_X"');
      assert.match(p.stdout, /"_schema":"incident_v1"/);
      assert.equal(masked(r.stdout), masked(p.stdout));
    },
  );

  test(
    'TextInput → TextCollectorNode: the same sentences from JSON strings and raw text lines',
    needs('TextInput', 'TextCollectorNode'),
    async () => {
      const m = join(dir, 'text.json');
      writeFileSync(
        m,
        JSON.stringify({
          version: 'v1',
          metadata: { name: 'text' },
          nodes: [
            { id: 'in', node_type: 'TextInput' },
            { id: 'c', node_type: 'TextCollectorNode', params: { min_sentence_length: 3 } },
          ],
          connections: [{ from: 'in', to: 'c' }],
        }),
      );
      const input =
        '"Hello the"\nre. How are\n  you?! Fine; ok\n"\\u0000\\u0003llmhidden"\n42\nmore <|text_end|>\ntail words\n';
      const { p } = await both([m], { input });
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stdout, /"Hello there."/);
    },
  );

  test('SrtOutput and -o out.srt: the same cues', needs('SrtOutput', 'TextInput'), async () => {
    const node = join(dir, 'srt-node.json');
    writeFileSync(
      node,
      JSON.stringify({
        version: 'v1',
        metadata: { name: 'srt' },
        nodes: [{ id: 's', node_type: 'SrtOutput', params: { max_line_length: 12 } }],
      }),
    );
    const input = [
      '{"text":" hello there general kenobi ","start":1.2345,"end":3723.9996}',
      '"plain"',
      '{"segments":[{"start":1,"end":2,"text":"a b"},{"start":2,"end":3,"text":"  "}]}',
      '{"word":"w","start":5}',
      '42',
      '',
    ].join('\n');
    const { p } = await both([node, '--on-error', 'skip'], { input });
    assert.match(p.stdout, /01:02:04,000/);
    const pass = join(dir, 'srt-pass.json');
    writeFileSync(
      pass,
      JSON.stringify({
        version: 'v1',
        metadata: { name: 'in' },
        nodes: [{ id: 'in', node_type: 'TextInput' }],
      }),
    );
    const [a, b] = [join(dir, 'p.srt'), join(dir, 'r.srt')];
    const [ps, rs] = await Promise.all([
      pitlane(['run', pass, '-o', a], { input }),
      reference(['run', pass, '-o', b], { input }),
    ]);
    assert.equal(ps.code + rs.code, 0, ps.stderr + rs.stderr);
    assert.equal(rs.stdout, ps.stdout); // what is not a transcript goes to stdout
    assert.equal(readFileSync(b, 'utf8'), readFileSync(a, 'utf8'));
  });

  test(
    'a Python node gets and returns frames as in pitlane, then AudioLevelNode: the same events',
    needs('AudioLevelNode'),
    async () => {
      const stereo = join(dir, 'py48.flac');
      ffmpeg('-i', CLIP, '-t', '2', '-ar', '48000', '-ac', '2', stereo);
      const m = join(dir, 'py-audio.yaml');
      writeFileSync(
        m,
        [
          'version: v1',
          'metadata: {name: py-audio}',
          'nodes:',
          '  - id: gain',
          '    node_type: python',
          '    runtime_hint: cpython # numpy arrays (Pyodide gives memoryviews)',
          '    params:',
          '      code: |',
          '        from pitlane import AudioFrame',
          '        class Gain:',
          '            def process(self, frame):',
          '                assert isinstance(frame, AudioFrame) and frame.samples.shape == (frame.frames, 2)',
          '                if frame.timestamp_us == 20000:',
          '                    return (frame.samples.T * 0.5, frame.sample_rate)  # RemoteMedia: (channels, samples)',
          '                return frame.derive(frame.samples * 2.0, metadata={"gain": 2})',
          '  - {id: level, node_type: AudioLevelNode}',
          'connections:',
          '  - {from: gain, to: level}',
          '',
        ].join('\n'),
      );
      const { p } = await both([m, '-i', stereo]);
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stdout, /"timestamp_us":null/); // the tuple's frame has no timestamp
    },
  );

  test('FastVAD (energy VAD): the same events and frames, at two settings', needs('FastVAD'), async () => {
    const stereo = join(dir, 'vad48.flac');
    ffmpeg('-i', CLIP, '-ar', '48000', '-ac', '2', stereo);
    for (const params of [
      {},
      { energy_threshold_db: -45, frame_duration_ms: 20, min_silence_duration_ms: 250 },
    ]) {
      const m = join(dir, 'vad.json');
      writeFileSync(
        m,
        JSON.stringify({
          version: 'v1',
          metadata: { name: 'vad' },
          nodes: [{ id: 'v', node_type: 'FastVADNode', params }],
        }),
      );
      for (const input of [
        ['-i', CLIP],
        ['-i', stereo, '--frame-ms', '13'],
      ]) {
        const { p } = await both([m, ...input]);
        assert.equal(p.code, 0, p.stderr);
        assert.match(p.stdout, /"event":"speech_start"/);
      }
    }
  });

  test(
    'chunking and utterances: AudioChunkerNode, AudioBuffer, FastVAD → AudioBufferAccumulatorNode',
    needs('AudioChunkerNode', 'AudioBuffer', 'FastVAD', 'AudioBufferAccumulatorNode'),
    async () => {
      const stereo = join(dir, 'utt48.flac');
      ffmpeg('-i', CLIP, '-ar', '48000', '-ac', '2', stereo);
      const manifests = {
        chunker: { nodes: [{ id: 'c', node_type: 'AudioChunkerNode', params: { chunk_size_ms: 33.3 } }] },
        buffer: { nodes: [{ id: 'b', node_type: 'AudioBuffer', params: { buffer_size_samples: 700 } }] },
        utterances: {
          nodes: [
            { id: 'v', node_type: 'FastVADNode', params: {} },
            {
              id: 'a',
              node_type: 'AudioBufferAccumulatorNode',
              params: { min_utterance_duration_ms: 100, pre_roll_ms: 200 },
            },
          ],
          connections: [{ from: 'v', to: 'a' }],
        },
      };
      for (const [name, m] of Object.entries(manifests)) {
        const path = join(dir, `${name}.json`);
        writeFileSync(path, JSON.stringify({ version: 'v1', metadata: { name }, ...m }));
        for (const input of [
          ['-i', CLIP],
          ['-i', stereo, '--frame-ms', '13'],
        ]) {
          const { p } = await both([path, ...input, '--audio-samples']);
          assert.equal(p.code, 0, `${name}: ${p.stderr}`);
          assert.ok(p.stdout.length > 0, name);
        }
      }
    },
  );

  test(
    'FastResampleNode: 48 kHz stereo to 16 kHz mono gives the same frames (cut where pitlane cuts them), samples within 1e-4 of libsamplerate',
    needs('FastResampleNode'),
    async () => {
      const stereo = join(dir, 'rs48.wav');
      ffmpeg('-i', CLIP, '-ar', '48000', '-ac', '2', stereo);
      const m = join(dir, 'resample.json');
      writeFileSync(
        m,
        JSON.stringify({
          version: 'v1',
          metadata: { name: 'resample' },
          nodes: [{ id: 'r', node_type: 'AutoResampleNode', params: { target_rate: 16000, channels: 1 } }],
        }),
      );
      const { p } = await both([m, '-i', stereo]); // the frames' metadata: sizes, timestamps
      assert.equal(p.code, 0, p.stderr);
      const [a, b] = [join(dir, 'rs-p.wav'), join(dir, 'rs-r.wav')];
      const [pw, rw] = await Promise.all([
        pitlane(['run', m, '-i', stereo, '-o', a, '--wav-format', 'f32']),
        reference(['run', m, '-i', stereo, '-o', b, '--wav-format', 'f32']),
      ]);
      assert.equal(pw.code + rw.code, 0, pw.stderr + rw.stderr);
      const [pa, rb] = [readFileSync(a), readFileSync(b)];
      assert.deepEqual(rb.subarray(0, 44), pa.subarray(0, 44)); // same format and length
      let max = 0;
      for (let i = 44; i < pa.length; i += 4)
        max = Math.max(max, Math.abs(pa.readFloatLE(i) - rb.readFloatLE(i)));
      assert.ok(max < 1e-4, `largest sample difference ${max}`);
    },
  );

  test(
    'speech to text: FastVAD → AudioBufferAccumulatorNode → PocketSphinxSTT gives the same transcripts',
    needs('FastResampleNode', 'FastVAD', 'AudioBufferAccumulatorNode', 'PocketSphinxSTT'),
    async () => {
      const m = join(dir, 'stt.json');
      writeFileSync(
        m,
        JSON.stringify({
          version: 'v1',
          metadata: { name: 'stt' },
          nodes: [
            { id: 'resample', node_type: 'FastResampleNode', params: { target_rate: 16000, channels: 1 } },
            { id: 'vad', node_type: 'FastVAD', params: {} },
            { id: 'utterances', node_type: 'AudioBufferAccumulatorNode', params: {} },
            { id: 'stt', node_type: 'PocketSphinxSTT' },
          ],
          connections: [
            { from: 'resample', to: 'vad' },
            { from: 'vad', to: 'utterances' },
            { from: 'utterances', to: 'stt' },
          ],
        }),
      );
      // Debian's python3-pocketsphinx is a module of Debian's interpreter: the reference runs there.
      // The first clip as it is (16 kHz mono: no resampling) and at 48 kHz stereo (each executor's resampler).
      const stereo = join(dir, 'stt48.wav');
      ffmpeg('-i', CLIPS[1], '-ar', '48000', '-ac', '2', stereo);
      for (const clip of [CLIPS[0], stereo]) {
        const [p, r] = await Promise.all([
          pitlane(['run', m, '-i', clip]),
          run('/usr/bin/python3', [REFERENCE, 'run', m, '-i', clip]),
        ]);
        assert.equal(p.code + r.code, 0, p.stderr + r.stderr);
        assert.match(p.stdout, /"text":"/);
        assert.equal(r.stdout, p.stdout);
      }
    },
  );
});
