/**
 * Results files, the one writer and the one reader for every suite kind. A results file holds one contestant's
 * raw measurements of a suite run (results/<group>/<contestant>.json under the run's folder), enough to rebuild
 * its rows later (`pitlane compare`). Format 2 wraps the kind's payload with `format`, `version` and `kind`
 * fields; files from before (format 1: the bare payload, no `kind`) are recognised by the kinds themselves, so
 * every results file pitlane ever wrote still reads.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FileError, toError } from '../../core/errors.js';
import { MAX_RESULTS_FILE_BYTES, readUserTextFile } from '../../core/user-file.js';
import type { ResourceSample, ResourceSummary } from '../proc/resource-sampler.js';

/** The `format` field of a results file. */
export const RESULTS_FORMAT = 'pitlane-results';
/** The version this pitlane writes; it reads this one and every one before. */
export const RESULTS_VERSION = 2;

/** One results file of a run: where it goes (relative to the run's folder) and the kind's payload. */
export interface ResultsFileEntry {
  readonly path: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** A results file as read: its kind, the version it was written in, and the kind's payload. */
export interface ResultsFileData {
  readonly path: string;
  readonly kind: string;
  readonly version: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A file written as it is (plain JSON, no results header): a view for other tools, such as the seed's. */
export interface PlainFile {
  /** Relative to the run's folder. */
  readonly path: string;
  readonly content: object;
}

/** Writes plain files under `dir`; returns their paths. */
export async function writePlainFiles(dir: string, files: readonly PlainFile[]): Promise<string[]> {
  const paths: string[] = [];
  for (const f of files) {
    const path = join(dir, f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify(f.content, null, 2) + '\n');
    paths.push(path);
  }
  return paths;
}

/** Writes a run's results files under `dir`; returns their paths. */
export async function writeResultsFiles(
  dir: string,
  kind: string,
  entries: readonly ResultsFileEntry[],
): Promise<string[]> {
  const paths: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.path);
    await mkdir(dirname(path), { recursive: true });
    const doc = { format: RESULTS_FORMAT, version: RESULTS_VERSION, kind, ...e.payload };
    await writeFile(path, JSON.stringify(doc, null, 1));
    paths.push(path);
  }
  return paths;
}

/**
 * Reads a results file of any kind and version. `legacyKind` names the kind of a format-1 file (no `kind` field)
 * from its payload, or returns undefined when no kind recognises it.
 */
export function readResultsFile(
  path: string,
  legacyKind: (data: Readonly<Record<string, unknown>>) => string | undefined,
): ResultsFileData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readUserTextFile(path, 'results file', MAX_RESULTS_FILE_BYTES));
  } catch (e) {
    throw new FileError(path, `cannot read a results file: ${toError(e).message}`);
  }
  const notResults = (): FileError =>
    new FileError(
      path,
      'not a pitlane results file (expected results/<group>/<contestant>.json from pitlane bench)',
    );
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw notResults();
  const data = parsed as Readonly<Record<string, unknown>>;
  if (data.format === RESULTS_FORMAT) {
    const version = data.version;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 2) throw notResults();
    if (version > RESULTS_VERSION) {
      throw new FileError(
        path,
        `results format version ${version} is newer than this pitlane reads (${RESULTS_VERSION}); update pitlane`,
      );
    }
    if (typeof data.kind !== 'string') throw notResults();
    return { path, kind: data.kind, version, data };
  }
  const kind = legacyKind(data);
  if (kind === undefined) throw notResults();
  return { path, kind, version: 1, data };
}

/** A process tree's resources as results files hold them (the series only where a kind keeps it). */
export interface StoredResources {
  readonly peak_rss_kb: number;
  readonly mean_rss_kb: number;
  readonly cpu_seconds: number;
  readonly samples?: number;
  readonly series?: readonly ResourceSample[];
}

/** Resources for a results file. */
export function storeResources(r: ResourceSummary, withSeries: boolean): StoredResources {
  return {
    peak_rss_kb: r.peakRssKb,
    mean_rss_kb: r.meanRssKb,
    cpu_seconds: r.cpuSeconds,
    samples: r.samples,
    ...(withSeries ? { series: r.series } : {}),
  };
}

/** Resources from a results file (a file without samples or series has none). */
export function readResources(r: StoredResources): ResourceSummary {
  return {
    peakRssKb: r.peak_rss_kb,
    meanRssKb: r.mean_rss_kb,
    cpuSeconds: r.cpu_seconds,
    samples: r.samples ?? 0,
    series: r.series ?? [],
  };
}
