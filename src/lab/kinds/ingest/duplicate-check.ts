/**
 * The check of a service's duplicate findings against the photo corpus's manifest (lab/photo-corpus/ writes it):
 * every known exact and near copy must be reported, whichever arrives first; unexpected near duplicates are
 * counted (they depend on arrival order).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileError, toError } from '../../../core/errors.js';
import type { DuplicateCheck, IngestBenchOptions, IngestImageOutcome } from './bench-result.js';

/** The parts of a corpus manifest the check reads (lab/photo-corpus/ writes it). */
interface ManifestView {
  readonly path: string;
  readonly images: readonly { readonly file: string; readonly kind: string; readonly of: string | null }[];
}

export async function loadManifest(options: IngestBenchOptions): Promise<ManifestView | null> {
  if (options.manifest === null) return null;
  const path = options.manifest ?? join(options.dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (options.manifest === undefined) return null;
    throw new FileError(path, `cannot read the corpus manifest (${toError(e).message})`);
  }
  try {
    const doc = JSON.parse(text) as { images?: unknown };
    if (!Array.isArray(doc.images)) throw new Error('it has no "images" list');
    return { path, images: doc.images as ManifestView['images'] };
  } catch (e) {
    throw new FileError(path, `not a corpus manifest (${toError(e).message})`);
  }
}

/**
 * Checks a service's duplicate findings against the manifest. A group is an original with its copies. Exact
 * copies are byte-identical: a group of the original and k exact copies must yield k duplicates, whichever
 * arrives first. Near copies must be indexed with a near duplicate in their group (their original, one of its
 * exact copies, or another near copy), or the original must point at them when a copy arrived first. Without
 * per-image outcomes the check compares totals.
 */
export function checkDuplicates(
  manifest: ManifestView,
  outcomes: readonly IngestImageOutcome[],
  totals: { readonly duplicates: number; readonly near: number },
): DuplicateCheck {
  const groupOf = new Map<string, string>();
  const kindOf = new Map<string, string>();
  for (const im of manifest.images) {
    groupOf.set(im.file, im.kind === 'original' || im.of === null ? im.file : im.of);
    kindOf.set(im.file, im.kind);
  }
  if (outcomes.length === 0) {
    const exact = manifest.images.filter((i) => i.kind === 'exact').length;
    const near = manifest.images.filter((i) => i.kind === 'near').length;
    return {
      manifest: manifest.path,
      expected: { exact, near },
      found: { exact: Math.min(exact, totals.duplicates), near: Math.min(near, totals.near) },
      missed_exact: [],
      missed_near: [],
      unexpected_near: [],
      unexpected_near_count: Math.max(0, totals.near - near),
      basis: 'totals',
      correct: totals.duplicates >= exact && totals.near >= near,
    };
  }
  // Per group: the outcomes of its members that were processed.
  const groups = new Map<string, IngestImageOutcome[]>();
  const idGroup = new Map<string, string>();
  for (const o of outcomes) {
    if (o.status === 'error') continue;
    const g = groupOf.get(o.name) ?? `?${o.name}`;
    const list = groups.get(g) ?? [];
    list.push(o);
    groups.set(g, list);
    if (o.id !== null) idGroup.set(o.id, g);
  }
  let expectedExact = 0;
  let foundExact = 0;
  let expectedNear = 0;
  let foundNear = 0;
  const missedExact: string[] = [];
  const missedNear: string[] = [];
  const unexpected: string[] = [];
  let unexpectedCount = 0;
  for (const [g, members] of groups) {
    // Exact: the original and its exact copies share bytes; all but one must be duplicates.
    const same = members.filter((m) => kindOf.get(m.name) === 'original' || kindOf.get(m.name) === 'exact');
    if (same.length > 1) {
      expectedExact += same.length - 1;
      const dups = same.filter((m) => m.status === 'duplicate').length;
      foundExact += Math.min(dups, same.length - 1);
      if (dups < same.length - 1) {
        missedExact.push(
          ...same
            .filter((m) => m.status !== 'duplicate')
            .slice(1)
            .map((m) => m.name),
        );
      }
    }
    // Near: the group's distinct pictures (the original's bytes once, each near copy) are indexed; every one
    // after the first committed must name a near duplicate inside the group.
    const indexed = members.filter((m) => m.status === 'indexed');
    if (members.some((m) => kindOf.get(m.name) === 'near') && indexed.length > 1) {
      expectedNear += indexed.length - 1;
      // A picture reported as a near duplicate counts whichever image it names: with look-alike pictures in the
      // index, the service's nearest may be another group's.
      const lone = indexed.filter((m) => m.near_duplicate_of === null);
      foundNear += Math.min(indexed.length - 1, indexed.length - lone.length);
      if (lone.length > 1) missedNear.push(...lone.slice(1).map((m) => m.name));
    }
    for (const m of indexed) {
      if (m.near_duplicate_of === null || kindOf.get(m.name) === 'near') continue;
      const target = idGroup.get(m.near_duplicate_of);
      if (target !== g) {
        unexpectedCount++;
        if (unexpected.length < 20) unexpected.push(`${m.name} ≈ ${m.near_duplicate_of.slice(0, 12)}`);
      }
    }
  }
  return {
    manifest: manifest.path,
    expected: { exact: expectedExact, near: expectedNear },
    found: { exact: foundExact, near: foundNear },
    missed_exact: missedExact.slice(0, 20),
    missed_near: missedNear.slice(0, 20),
    unexpected_near: unexpected,
    unexpected_near_count: unexpectedCount,
    basis: 'per_image',
    correct: foundExact === expectedExact && foundNear === expectedNear,
  };
}
