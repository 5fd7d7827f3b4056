import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AudioFrame } from '../core/audio.js';
import { ItemGroup } from '../core/item-group.js';
import { audioInputFrames, STAGGER_GROUPS } from './audio-input.js';
import { wavHeader } from './wav.js';

const dir = mkdtempSync(join(tmpdir(), 'pitlane-audio-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A 16 kHz mono 16-bit WAV of `frames` 20 ms frames of silence. */
function silence(frames: number): string {
  const samples = 320 * frames;
  const path = join(dir, `silence-${frames}.wav`);
  writeFileSync(
    path,
    Buffer.concat([
      wavHeader({ sampleRate: 16000, channels: 1 }, 's16', samples * 2),
      Buffer.alloc(samples * 2),
    ]),
  );
  return path;
}

/** What the source yields, as stream ids: a group as its ids, a lone frame as its id. */
async function yielded(options: Parameters<typeof audioInputFrames>[1]): Promise<(string | undefined)[][]> {
  const out: (string | undefined)[][] = [];
  for await (const v of audioInputFrames({ kind: 'wav', path: silence(3) }, options)) {
    out.push(v instanceof ItemGroup ? v.items.map((f) => f.streamId) : [v.streamId]);
  }
  return out;
}

describe('audio input with several streams', () => {
  test('not live: each frame time is one group of every stream, stamped with one arrival time', async () => {
    const got = await yielded({ streams: 3 });
    assert.deepEqual(got, [
      ['s0', 's1', 's2'],
      ['s0', 's1', 's2'],
      ['s0', 's1', 's2'],
    ]);
    for await (const v of audioInputFrames({ kind: 'wav', path: silence(1) }, { streams: 3 })) {
      const arrivals = (v as ItemGroup<AudioFrame>).items.map((f) => f.arrivalTsUs);
      assert.equal(new Set(arrivals).size, 1);
    }
  });

  test('live: the streams arrive in groups spread over the frame period, every stream once per frame time', async () => {
    // A host too busy to keep up drops whole groups (counted through onBehind); the rest must still be the
    // same contiguous groups, so the check holds however many were dropped.
    const live = async (streams: number): Promise<{ got: (string | undefined)[][]; dropped: number }> => {
      let dropped = 0;
      const got = await yielded({ streams, realtime: true, onBehind: (_f, _l, slots) => (dropped = slots) });
      return { got, dropped };
    };
    const streams = STAGGER_GROUPS * 2 + 3;
    const all = Array.from({ length: streams }, (_, i) => `s${i}`);
    const { got, dropped } = await live(streams);
    assert.equal(got.length + dropped, 3 * STAGGER_GROUPS, 'groups per frame time, yielded or dropped');
    for (const g of got) {
      assert.ok(g.length === 2 || g.length === 3, `group of ${g.length}`);
      const first = all.indexOf(g[0] as string);
      assert.deepEqual(g, all.slice(first, first + g.length), 'contiguous ids, in order');
    }
    if (dropped === 0) {
      for (let slot = 0; slot < 3; slot++) {
        const groups = got.slice(slot * STAGGER_GROUPS, (slot + 1) * STAGGER_GROUPS);
        assert.deepEqual(groups.flat(), all, 'every stream once per frame time');
      }
    }
    // Fewer streams than groups: one stream per group.
    const two = await live(2);
    assert.equal(two.got.length + two.dropped, 6);
    assert.ok(two.got.every((g) => g.length === 1));
    if (two.dropped === 0) assert.deepEqual(two.got, [['s0'], ['s1'], ['s0'], ['s1'], ['s0'], ['s1']]);
  });

  test('one stream: plain frames, live or not', async () => {
    assert.deepEqual(await yielded({ realtime: true }), [[undefined], [undefined], [undefined]]);
  });
});
