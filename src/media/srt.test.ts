import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatSrtCue, srtTimecode, wrapSrtText } from './srt.js';

describe('srt', () => {
  test("timecodes as RemoteMedia's srt_output.rs tests them", () => {
    assert.equal(srtTimecode(0), '00:00:00,000');
    assert.equal(srtTimecode(1.5), '00:00:01,500');
    assert.equal(srtTimecode(61.234), '00:01:01,234');
    assert.equal(srtTimecode(3661), '01:01:01,000');
    assert.equal(srtTimecode(-1), '00:00:00,000');
    assert.equal(srtTimecode(Number.NaN), '00:00:00,000');
  });

  test('a cue: number, times, trimmed text, blank line', () => {
    assert.equal(
      formatSrtCue(1, 1.5, 4, ' Hello world '),
      '1\n00:00:01,500 --> 00:00:04,000\nHello world\n\n',
    );
    assert.equal(formatSrtCue(null, 0, 2, 'Hi'), '00:00:00,000 --> 00:00:02,000\nHi\n\n');
  });

  test('wrapping at word boundaries', () => {
    assert.equal(
      wrapSrtText('This is a long subtitle that should be wrapped', 20),
      'This is a long\nsubtitle that should\nbe wrapped',
    );
    assert.equal(wrapSrtText('Short text', 20), 'Short text');
    assert.equal(
      formatSrtCue(3, 0, 1, 'aaa bbb ccc', 7),
      '3\n00:00:00,000 --> 00:00:01,000\naaa bbb\nccc\n\n',
    );
  });
});
