/**
 * `pitlane bench pipelines`: runs the pipelines kind's built-in suite with progress, prints its table, writes the
 * results and reports. No Ctrl-C handling of its own (the pipelines kind has no contestant servers to stop): the
 * default signal behaviour ends it at once.
 */
import { kindNamed } from '../lab/kinds/registry.js';
import { printOutcome, runSuiteWith } from './suite-command.js';

export interface BenchPipelinesOptions {
  quick?: boolean;
  out: string;
  repeats?: number;
  only?: string;
  python: string;
  json?: boolean;
}

export async function benchPipelinesCommand(opts: BenchPipelinesOptions): Promise<number> {
  const outcome = await runSuiteWith(kindNamed('pipelines'), null, opts, new AbortController().signal);
  printOutcome(outcome, opts);
  for (const p of outcome.problems) process.stderr.write(`${p}\n`);
  return outcome.exit;
}
