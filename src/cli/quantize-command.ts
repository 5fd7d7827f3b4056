/**
 * `pitlane quantize IN.onnx OUT.onnx`: dynamic int8 quantisation of a model's constant-weight MatMul/Gemm nodes
 * (inference/onnx/quantize.ts does the work). Prints what it did: nodes quantised and kept (with why), bytes
 * before and after; `--json` prints the same as one JSON document.
 */
import { printable } from '../core/terminal-text.js';
import { quantizeOnnxFile } from '../inference/onnx/quantize.js';
import { EXIT } from './exit-codes.js';

export interface QuantizeCommandOptions {
  /** Weights with fewer elements stay FP32. */
  minElements: number;
  /** Node names to keep in FP32. */
  exclude?: string[];
  json?: boolean;
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

export async function quantizeCommand(
  input: string,
  output: string,
  opts: QuantizeCommandOptions,
): Promise<number> {
  const summary = await quantizeOnnxFile(input, output, {
    minElements: opts.minElements,
    exclude: opts.exclude ?? [],
  });
  for (const w of summary.warnings) process.stderr.write(`warning: ${printable(w)}\n`);
  if (opts.json === true) {
    process.stdout.write(JSON.stringify({ input, output, ...summary }, null, 2) + '\n');
    return EXIT.OK;
  }
  const lines = [
    `${summary.nodesQuantized} of ${summary.nodesQuantized + summary.nodesKept} MatMul/Gemm nodes quantised to int8 (DynamicQuantizeMatMul); ${summary.nodesKept} kept in FP32`,
    `  weights ${mib(summary.weightBytesBefore)} -> ${mib(summary.weightBytesAfter)}; model ${mib(summary.bytesBefore)} -> ${mib(summary.bytesAfter)}`,
  ];
  // Why nodes were kept, counted by reason.
  const reasons = new Map<string, number>();
  for (const k of summary.kept) reasons.set(k.reason, (reasons.get(k.reason) ?? 0) + 1);
  for (const [reason, n] of reasons) lines.push(`  kept ${n}: ${reason}`);
  if (summary.nodesQuantized === 0) lines.push('  nothing to quantise: the output is a copy of the input');
  lines.push(`wrote ${output}`);
  process.stdout.write(printable(lines.join('\n')) + '\n');
  return EXIT.OK;
}
