import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aboveCapacity, type ScenarioRun } from './runner.js';
import type { Suite, SuiteScenario } from './suite.js';

// Only the fields aboveCapacity reads.
const closed = (name: string, concurrency: number, workload = 'texts'): SuiteScenario =>
  ({ name, workload, plan: { model: 'closed', concurrency } }) as unknown as SuiteScenario;
const open = (name: string, rate: number, workload = 'texts'): SuiteScenario =>
  ({ name, workload, plan: { model: 'open', rate } }) as unknown as SuiteScenario;
const run = (scenario: string, contestant: string, perS: number, saturated = false): ScenarioRun =>
  ({
    scenario,
    contestant,
    failure: null,
    load: { throughputPerS: perS, client: { saturated } },
  }) as unknown as ScenarioRun;

const c1 = closed('c1', 1);
const c16 = closed('c16', 16);
const open30 = open('open_30', 30);
const suite = { scenarios: [c1, c16, closed('q16', 16, 'queries'), open30] } as unknown as Suite;

test("an open-loop rate above the most concurrent closed-loop run's throughput is skipped, naming both", () => {
  // 43/s to one client, 14/s to 16 (best repeat): 30/s is above what it serves with requests piling up.
  const runs = [run('c1', 'py', 43), run('c16', 'py', 12), run('c16', 'py', 14.2), run('q16', 'py', 200)];
  assert.equal(aboveCapacity(suite, open30, 'py', runs), 'offered 30/s, closed-loop capacity 14.2/s on c16');
  // Another contestant's runs and another workload's do not count.
  assert.equal(aboveCapacity(suite, open30, 'other', runs), null);
});

test('runs within capacity, without a closed-loop measure, or closed-loop scenarios themselves: not skipped', () => {
  assert.equal(aboveCapacity(suite, open30, 'js', [run('c1', 'js', 80), run('c16', 'js', 95)]), null);
  assert.equal(aboveCapacity(suite, open30, 'js', []), null);
  assert.equal(aboveCapacity(suite, c16, 'js', [run('c16', 'js', 1)]), null);
  // A saturated client measured the load generator, not the contestant: left out, the less concurrent run decides.
  assert.equal(aboveCapacity(suite, open30, 'js', [run('c1', 'js', 50), run('c16', 'js', 5, true)]), null);
});
