/**
 * Helpers for the inference tests: builds the minilm-l6-arch stand-in (scripts/build-models.mjs) into a
 * temporary folder, once per test file, so tests never depend on what is in models/.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** scripts/build-models.mjs, found from dist/inference/ (or src/inference/). */
export const BUILD_MODELS_SCRIPT = fileURLToPath(new URL('../../scripts/build-models.mjs', import.meta.url));

/** A built model folder; `remove()` deletes it. */
export interface BuiltModelDir {
  readonly dir: string;
  readonly modelPath: string;
  readonly tokenizerPath: string;
  readonly vocabPath: string;
  remove(): void;
}

/** Runs the builder in a child process into a fresh temporary folder. */
export function buildMiniLmArchInTemp(): BuiltModelDir {
  const root = mkdtempSync(join(tmpdir(), 'pitlane-minilm-'));
  const dir = join(root, 'minilm-l6-arch');
  execFileSync(process.execPath, [BUILD_MODELS_SCRIPT, '--out', dir], { stdio: 'pipe' });
  return {
    dir,
    modelPath: join(dir, 'model.onnx'),
    tokenizerPath: join(dir, 'tokenizer.json'),
    vocabPath: join(dir, 'vocab.txt'),
    remove: () => {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Cosine similarity of two vectors of the same length (1: same direction). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}
