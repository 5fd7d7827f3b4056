// Expected values: a 1 kHz sine of amplitude A over whole periods has RMS A/√2; RemoteMedia's
// channel_balance.rs compares the channels' RMS in dB and reads -120 dB for a silent channel.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { channelBalanceEvent } from './channel-balance.js';
import { sineFrame, stereoFrame } from './test-signals.js';

const db = (a: number): number => 20 * Math.log10(a * Math.SQRT1_2);

describe('ChannelBalanceNode', () => {
  test('left only: the right channel is dead, balance ratio null (infinite), health 0', () => {
    const e = channelBalanceEvent(stereoFrame(0.5, 0), 10, -60);
    assert.ok(Math.abs(e.left_rms_db - db(0.5)) < 1e-4);
    assert.equal(e.right_rms_db, -120);
    assert.equal(e.balance_ratio, null);
    assert.ok(Math.abs(e.imbalance_db - (db(0.5) + 120)) < 1e-4);
    assert.deepEqual(
      [e.has_dead_channel, e.dead_channel, e.is_imbalanced, e.health],
      [true, 'right', true, 0],
    );
  });

  test('left at twice the right: 6.02 dB, ratio 2, health 1 - 6.02/10', () => {
    const e = channelBalanceEvent(stereoFrame(0.5, 0.25), 10, -60);
    const diff = 20 * Math.log10(2);
    assert.ok(Math.abs(e.imbalance_db - diff) < 1e-4);
    assert.ok(Math.abs((e.balance_ratio ?? 0) - 2) < 1e-5);
    assert.equal(e.is_imbalanced, false);
    assert.ok(Math.abs(e.health - (1 - diff / 10)) < 1e-5);
  });

  test('both silent: neither dead (RemoteMedia needs exactly one), ratio 1', () => {
    const e = channelBalanceEvent(stereoFrame(0, 0), 10, -60);
    assert.deepEqual([e.balance_ratio, e.has_dead_channel, e.dead_channel, e.health], [1, false, 'none', 1]);
  });

  test('mono frames get the fixed balanced event', () => {
    const e = channelBalanceEvent(sineFrame(0.5), 10, -60);
    assert.deepEqual(
      [e.left_rms_db, e.right_rms_db, e.balance_ratio, e.imbalance_db, e.is_imbalanced, e.health],
      [0, 0, 1, 0, false, 1],
    );
  });
});
