/**
 * The load tool's terminal output: the every-`-report`-seconds progress line and the end-of-run summary, as the
 * Go tool printed them plus latency percentiles and the manifest check.
 */
import type { IngestBenchProgress, IngestBenchResult } from './bench-result.js';

/** The end-of-run summary, as the Go tool printed it plus latency percentiles and the manifest check. */
export function formatIngestSummary(r: IngestBenchResult): string {
  const ms = (x: number | null): string => (x === null ? '—' : `${x.toFixed(0)} ms`);
  const lines = [
    `${r.complete ? 'Done' : 'Stopped early (partial results)'}: ${r.images.answered} of ${r.images.found} images in ${r.batches.ok} batches, ${r.elapsed_s.toFixed(1)} s${r.stopped_because !== null ? ` — ${r.stopped_because}` : ''}`,
    `  throughput      ${r.images_per_s.toFixed(2)} images/s, ${r.batches_per_s.toFixed(3)} batches/s`,
    `  batch latency   p50 ${ms(r.batch_latency_ms.p50)}, p95 ${ms(r.batch_latency_ms.p95)}, p99 ${ms(r.batch_latency_ms.p99)} (${r.batch_latencies_ms.length} batches)`,
    `  success rate    ${(r.success_rate * 100).toFixed(1)}% (${r.images.processed} processed, ${r.images.errors} image errors, ${r.batches.failed} failed batches with ${r.images.in_failed_batches} images)`,
    `  duplicates      ${r.duplicates} exact, ${r.near_duplicates} near`,
    `  indexed         ${Object.entries(r.indexed)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ];
  if (Object.keys(r.errors_by_reason).length > 0) {
    lines.push(
      `  image errors    ${Object.entries(r.errors_by_reason)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  if (Object.keys(r.failed_batches_by_cause).length > 0) {
    lines.push(
      `  failed batches  ${Object.entries(r.failed_batches_by_cause)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  const c = r.check;
  if (c !== null) {
    const verdict = c.correct ? 'correct' : 'INCORRECT: known copies missed';
    lines.push(
      `  vs manifest     ${verdict} (${c.basis === 'totals' ? 'totals only' : 'per image'}): exact ${c.found.exact}/${c.expected.exact}, near ${c.found.near}/${c.expected.near}, ${c.unexpected_near_count} unexpected near duplicates`,
    );
    if (c.missed_exact.length > 0) lines.push(`    missed exact copies: ${c.missed_exact.join(', ')}`);
    if (c.missed_near.length > 0) lines.push(`    missed near copies: ${c.missed_near.join(', ')}`);
  }
  for (const e of r.first_errors.slice(0, 5)) lines.push(`  ! ${e}`);
  return lines.join('\n');
}

/** One progress line (the Go tool's every-`-report`-seconds line). */
export function formatIngestProgress(p: IngestBenchProgress): string {
  return (
    `[${p.elapsedS.toFixed(0)}s] ${p.images} images (${p.imagesPerS.toFixed(1)}/s), ${p.batches} batches ` +
    `(${p.batchesPerS.toFixed(2)}/s), ${p.errors} errors, ${p.duplicates} duplicates, ${p.nearDuplicates} near duplicates`
  );
}
