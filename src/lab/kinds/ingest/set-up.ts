/**
 * What an ingest run needs around the measurement: a contestant's set-up check (skipped with the command that
 * enables it), placeholders in commands, synthetic warm-up photos and their upload, and the idle RSS of a tree.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { FormData, fetch } from 'undici';
import { sampleResources } from '../../proc/resource-sampler.js';
import type { IngestContestant } from './suite.js';

/** The set-up check of a contestant: null when it is there, else the reason and the command that fixes it. */
export function missingSetup(c: IngestContestant): string | null {
  if (c.requires === null) return null;
  const [cmd, ...args] = c.requires.check as [string, ...string[]];
  const r = spawnSync(cmd, args, { cwd: c.spec.cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  if (r.status === 0) return null;
  const why = r.error !== undefined ? r.error.message : (r.stderr.toString().trim().split('\n').at(-1) ?? '');
  return `set-up missing (${c.requires.check.join(' ')}: ${why || `exit ${String(r.status)}`}); to enable it: ${c.requires.install}`;
}

export const fill = (argv: readonly string[], values: Readonly<Record<string, string>>): string[] =>
  argv.map((a) => a.replace(/\{([a-z_.]+)\}/g, (m, key: string) => values[key] ?? m));

/** Synthetic warm-up photos (smooth noise, not near any corpus photo), made once beside the corpora. */
export async function warmupImages(dir: string, count: number): Promise<string[]> {
  const folder = join(dir, 'warmup');
  mkdirSync(folder, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(folder, `warmup-${i}.jpg`);
    paths.push(path);
    if (existsSync(path)) continue;
    await sharp({
      create: {
        width: 1600,
        height: 1200,
        channels: 3,
        background: { r: (i * 53) % 256, g: (i * 97) % 256, b: (i * 151) % 256 },
        noise: { type: 'gaussian', mean: 96 + ((i * 17) % 64), sigma: 40 },
      },
    })
      .blur(3)
      .jpeg({ quality: 85 })
      .toFile(path);
  }
  return paths;
}

/** Uploads the warm-up photos as two concurrent batches (so two server workers both warm up). */
export async function warmUp(baseUrl: string, paths: readonly string[], signal: AbortSignal): Promise<void> {
  if (paths.length === 0) return;
  const halves = [paths.filter((_, i) => i % 2 === 0), paths.filter((_, i) => i % 2 === 1)].filter(
    (h) => h.length > 0,
  );
  const { openAsBlob } = await import('node:fs');
  await Promise.all(
    halves.map(async (half) => {
      const form = new FormData();
      for (const [i, p] of half.entries())
        form.append(`file${i}`, await openAsBlob(p), p.replace(/^.*\//, ''));
      const res = await fetch(`${baseUrl}/ingest/batch`, { method: 'POST', body: form, signal });
      const text = await res.text();
      if (res.status !== 200)
        throw new Error(`the warm-up batch was answered ${res.status}: ${text.slice(0, 300)}`);
      const body = JSON.parse(text) as { errors_count?: number; errors?: { message?: string }[] };
      if ((body.errors_count ?? 0) > 0) {
        throw new Error(`the warm-up batch had errors: ${body.errors?.[0]?.message ?? '?'}`);
      }
    }),
  );
}

/** RSS of a process tree now, MiB (a short sampling window). */
export async function rssNowMb(pid: number): Promise<number | null> {
  const sampler = sampleResources(pid, 50);
  await new Promise((r) => setTimeout(r, 300));
  const s = await sampler.stop();
  return s.samples > 0 ? s.meanRssKb / 1024 : null;
}
