/**
 * `pitlane compare A.json B.json`: two results files of any suite kind (results/<group>/<contestant>.json,
 * possibly from different runs) compared scenario by scenario with the same statistics as a suite run: each
 * file's kind rebuilds its rows, the lab pairs them with A as the baseline (lab/results/compare.ts).
 */
import { writeFile } from 'node:fs/promises';
import { kindNamed, legacyResultsKind } from '../lab/kinds/registry.js';
import { renderHtmlReport } from '../lab/report/html-page.js';
import { renderMarkdownReport } from '../lab/report/markdown.js';
import { renderTerminalTable } from '../lab/report/terminal.js';
import { compareResults, type ContestantResults } from '../lab/results/compare.js';
import { comparisonJson } from '../lab/results/comparison.js';
import { readResultsFile } from '../lab/results/results-file.js';
import { EXIT } from './exit-codes.js';

function readResults(path: string): ContestantResults {
  const file = readResultsFile(path, legacyResultsKind);
  return kindNamed(file.kind).readResults(file);
}

export async function compareCommand(
  aPath: string,
  bPath: string,
  opts: { json?: boolean; output?: string },
): Promise<number> {
  const report = compareResults(readResults(aPath), readResults(bPath), { a: aPath, b: bPath });
  if (opts.output !== undefined) {
    await writeFile(
      opts.output,
      opts.output.endsWith('.md') ? renderMarkdownReport(report) : renderHtmlReport(report),
    );
  }
  if (opts.json === true) process.stdout.write(JSON.stringify(comparisonJson(report), null, 2) + '\n');
  else
    process.stdout.write(
      `${renderTerminalTable(report)}\n${opts.output !== undefined ? `Wrote ${opts.output}\n` : ''}`,
    );
  return EXIT.OK;
}
