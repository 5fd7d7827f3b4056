/** `pitlane bench pipelines`: runs the pipeline suite with progress, prints the table, writes the reports. */
import { join } from 'node:path';
import { runPipelineSuite } from '../lab/kinds/pipelines/runner.js';
import { comparisonJson, resultsTable, writePipelineReports } from '../lab/kinds/pipelines/report.js';
import { EXIT } from './exit-codes.js';

export interface BenchPipelinesOptions {
  quick?: boolean;
  out: string;
  repeats?: number;
  only?: string;
  python: string;
  json?: boolean;
}

/** Progress on stderr: one rewritten line on a terminal, plain lines otherwise. */
function progressPrinter(): (p: { done: number; total: number; label: string }) => void {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  return ({ done, total, label }) => {
    const width = 24;
    const filled = Math.round((done / total) * width);
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    if (tty) {
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      process.stderr.write(`\r\x1b[K${bar} ${done}/${total} ${elapsed}s ${label}`);
      if (label === 'done') process.stderr.write('\n');
    } else {
      process.stderr.write(`[${done}/${total}] ${elapsed}s ${label}\n`);
    }
  };
}

export async function benchPipelinesCommand(opts: BenchPipelinesOptions): Promise<number> {
  const result = await runPipelineSuite({
    quick: opts.quick === true,
    python: opts.python,
    ...(opts.repeats !== undefined ? { repeats: opts.repeats } : {}),
    ...(opts.only !== undefined
      ? {
          only: opts.only
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    onProgress: progressPrinter(),
  });
  const dir = join(opts.out, 'pipelines');
  const paths = await writePipelineReports(result, dir);
  if (opts.json === true) {
    process.stdout.write(JSON.stringify(comparisonJson(result), null, 2) + '\n');
  } else {
    const h = result.headline;
    const headline =
      h.scenarios.length === 0
        ? ''
        : `Geometric-mean speed-up (${h.scenarios.join(', ')}): ${h.speedup.toFixed(1)}x ` +
          `[95% CI ${h.ci95[0].toFixed(1)}, ${h.ci95[1].toFixed(1)}]\n`;
    process.stdout.write(
      `\n${resultsTable(result)}\n\n${headline}` +
        `${result.environment.cpu_model}, ${result.environment.cores} cores; Node ${result.environment.node_version}, Python ${result.environment.python_version ?? '?'}\n` +
        `Wrote ${paths.join(', ')}\n`,
    );
  }
  const incorrect = result.scenarios.filter((r) => !r.correct);
  if (incorrect.length > 0) {
    process.stderr.write(
      `error PL_ERR_BENCH: outputs differ between runtimes in: ${incorrect.map((r) => r.scenario.name).join(', ')}\n`,
    );
    return EXIT.BENCH_FAILED;
  }
  return EXIT.OK;
}
