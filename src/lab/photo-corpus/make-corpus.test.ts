import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { FileError } from '../../core/errors.js';
import { makePhotoCorpus } from './make-corpus.js';
import { expectedDuplicates, groupOf, PHOTO_CORPUS_MANIFEST, readPhotoCorpusManifest } from './manifest.js';
import type { PhotoCorpusResult } from './options.js';

const DARKNET = '/usr/share/darknet/data';
const OPTIONS = { count: 24, seed: 7, exactShare: 0.125, nearShare: 0.125 } as const;

const sha = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('makePhotoCorpus', () => {
  let root: string;
  let first: PhotoCorpusResult;
  const progress: { done: number; total: number }[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'pitlane-photo-corpus-'));
    first = await makePhotoCorpus({ out: join(root, 'a'), ...OPTIONS }, (p) => progress.push(p));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('counts by kind, groups and progress', async () => {
    const m = first.manifest;
    assert.equal(first.cached, false);
    assert.equal(m.state, 'complete');
    assert.equal(m.count, 24);
    const kinds = { original: 0, exact: 0, near: 0 };
    for (const i of m.images) kinds[i.kind]++;
    assert.deepEqual(kinds, { original: 18, exact: 3, near: 3 });
    assert.equal(m.groups, 18);
    assert.deepEqual(expectedDuplicates(m), { exact: 3, near: 3 });
    assert.deepEqual(progress.at(-1), { done: 24, total: 24 });
    const files = (await readdir(first.dir)).sort();
    assert.deepEqual(files, [...m.images.map((i) => i.file), PHOTO_CORPUS_MANIFEST].sort());
    assert.equal(
      m.total_bytes,
      m.images.reduce((s, i) => s + i.bytes, 0),
    );
    assert.deepEqual(await readPhotoCorpusManifest(first.dir), m);
  });

  test('exact copies are byte-identical to their original, near copies are not', async () => {
    const m = first.manifest;
    const group = groupOf(m);
    const hashes = new Map<string, string>();
    for (const i of m.images) hashes.set(i.file, await sha(join(first.dir, i.file)));
    for (const i of m.images) {
      if (i.kind === 'original') {
        assert.equal(i.of, null);
        assert.equal(group.get(i.file), i.file);
        continue;
      }
      assert.ok(i.of !== null && m.images.some((o) => o.file === i.of && o.kind === 'original'), i.file);
      assert.equal(group.get(i.file), i.of);
      if (i.kind === 'exact') assert.equal(hashes.get(i.file), hashes.get(i.of), `${i.file} = ${i.of}`);
      else {
        assert.notEqual(hashes.get(i.file), hashes.get(i.of), `${i.file} ≠ ${i.of}`);
        assert.ok(i.edit !== null && i.edit.length > 0);
      }
    }
    // Every distinct file but the exact copies has bytes of its own.
    const distinct = new Set(m.images.filter((i) => i.kind !== 'exact').map((i) => hashes.get(i.file)));
    assert.equal(distinct.size, 21);
  });

  test('the manifest says the size, format and bytes of every file', async () => {
    for (const i of first.manifest.images) {
      const file = join(first.dir, i.file);
      const meta = await sharp(file).metadata();
      assert.equal(meta.width, i.width, i.file);
      assert.equal(meta.height, i.height, i.file);
      assert.equal(meta.format, i.format, i.file);
      assert.equal((await stat(file)).size, i.bytes, i.file);
      if (i.format === 'jpeg') assert.equal(meta.chromaSubsampling, '4:2:0', i.file);
    }
  });

  test('the same seed makes the same corpus', async () => {
    const again = await makePhotoCorpus({ out: join(root, 'b'), ...OPTIONS });
    assert.deepEqual(again.manifest, first.manifest);
    const some = first.manifest.images.slice(0, 4);
    for (const i of some)
      assert.equal(await sha(join(again.dir, i.file)), await sha(join(first.dir, i.file)));
  });

  test('a second call finds it cached and writes nothing', async () => {
    const mtimes = async (): Promise<Map<string, number>> =>
      new Map(
        await Promise.all(
          (await readdir(first.dir)).map(async (f) => [f, (await stat(join(first.dir, f))).mtimeMs] as const),
        ),
      );
    const before = await mtimes();
    const again = await makePhotoCorpus({ out: first.dir, ...OPTIONS });
    assert.equal(again.cached, true);
    assert.deepEqual(again.manifest, first.manifest);
    assert.deepEqual(await mtimes(), before);
  });

  test('another count rebuilds the folder, deleting only the old corpus', async () => {
    const dir = join(root, 'rebuild');
    const old = await makePhotoCorpus({ out: dir, ...OPTIONS, count: 8 });
    const rebuilt = await makePhotoCorpus({ out: dir, ...OPTIONS, count: 6 });
    assert.equal(rebuilt.cached, false);
    assert.equal(rebuilt.manifest.count, 6);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [...rebuilt.manifest.images.map((i) => i.file), PHOTO_CORPUS_MANIFEST].sort(),
    );
    assert.notDeepEqual(old.manifest.images, rebuilt.manifest.images);
  });

  test('refuses a non-empty folder that is not a corpus, and touches nothing in it', async () => {
    const dir = join(root, 'foreign');
    await mkdir(dir);
    await writeFile(join(dir, 'holiday.jpg'), 'not ours');
    await assert.rejects(
      makePhotoCorpus({ out: dir, ...OPTIONS }),
      (err: unknown) =>
        err instanceof FileError && /refusing to delete/.test(err.message) && err.path === dir,
    );
    assert.deepEqual(await readdir(dir), ['holiday.jpg']);
    await writeFile(join(dir, PHOTO_CORPUS_MANIFEST), '{"images": []}');
    await assert.rejects(makePhotoCorpus({ out: dir, ...OPTIONS }), /not written by pitlane photo-corpus/);
    await assert.rejects(readPhotoCorpusManifest(dir), FileError);
  });

  test('a missing or empty source folder is an error naming it', async () => {
    const missing = join(root, 'no-such-folder');
    await assert.rejects(
      makePhotoCorpus({ out: join(root, 'x'), ...OPTIONS, sources: [missing] }),
      (err: unknown) =>
        err instanceof FileError && err.path === missing && /does not exist/.test(err.message),
    );
    const empty = join(root, 'empty-source');
    await mkdir(empty);
    await writeFile(join(empty, 'readme.txt'), 'no photos');
    await assert.rejects(
      makePhotoCorpus({ out: join(root, 'x'), ...OPTIONS, sources: [empty] }),
      (err: unknown) =>
        err instanceof FileError && err.path === empty && /no JPEG, PNG or WebP/.test(err.message),
    );
  });

  test('a corrupt source photo is skipped with a warning', async () => {
    const src = join(root, 'with-broken');
    await mkdir(src);
    await copyFile(join(DARKNET, 'dog.jpg'), join(src, 'dog.jpg'));
    const dog = await readFile(join(DARKNET, 'dog.jpg'));
    await writeFile(join(src, 'broken.jpg'), dog.subarray(0, 2000));
    const warnings: string[] = [];
    const r = await makePhotoCorpus({
      out: join(root, 'from-broken'),
      count: 3,
      exactShare: 0,
      nearShare: 0,
      sources: [src],
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(r.manifest.count, 3);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /broken\.jpg/);
    assert.deepEqual(r.warnings, warnings);
    assert.ok(r.manifest.images.every((i) => i.recipe?.includes('dog.jpg')));
  });
});
