import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPipeline } from '../../pipeline/executor.js';
import { InputParseFailure } from '../../pipeline/node.js';
import { asyncFrom, chain, manifestOf } from '../test-support.js';

describe('TextInput', () => {
  test('JSON strings and raw text lines become text items; other values pass through', async () => {
    const m = manifestOf(
      chain([
        ['in', 'TextInput', { encoding: 'utf-8' }],
        ['out', 'DataSink'],
      ]),
    );
    const input = asyncFrom(['hello', new InputParseFailure(2, 'a plain line'), { n: 1 }]);
    const r = await runPipeline(m, { input });
    assert.equal(r.state, 'completed');
    assert.deepEqual(r.outputs, ['hello', 'a plain line', { n: 1 }]);
  });
});
