// Bundles the CLI into dist/bundle/ (esbuild, ESM, code-split so each command loads only what it needs).
// Why: pitlane's dependencies ship as hundreds of small ESM files, and resolving them cost ~120 ms at every
// start; one bundle starts in about half the time (cold start is a headline number, see bench pipelines).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: clear old ones so the folder holds one build.
rmSync('dist/bundle', { recursive: true, force: true });

await build({
  // Worker-thread modules are entries of their own: threads load them by file name beside the chunks.
  entryPoints: {
    main: 'src/cli/main.ts',
    // Every inference thread (embedder, tensor model, tokenizer) starts from this one entry.
    'thread-worker': 'src/inference/backends/thread-worker.ts',
    'pyodide-thread': 'src/python/pyodide/pyodide-thread.ts',
    // `pitlane run --streams N` splits the streams over threads that start here.
    'run-shard-thread': 'src/cli/run-shard-thread.ts',
  },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Pyodide loads its WebAssembly and standard library from files beside its own module: never bundle it.
  // ONNX Runtime and TF.js load native and WebAssembly binaries relative to their own files: never bundle them.
  external: [
    'pyodide',
    'onnxruntime-node',
    '@tensorflow/*',
    '@energetic-ai/*',
    'better-sqlite3',
    'sqlite-vec',
    '@opensearch-project/opensearch',
    // transformers.js (the Whisper nodes) loads ONNX Runtime and its own WebAssembly beside its files.
    '@huggingface/transformers',
    // Swagger UI serves its page and scripts from files beside its own module (/docs of every service).
    '@fastify/swagger-ui',
  ],
  // CommonJS dependencies (commander) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __plCreateRequire } from 'node:module'; const require = __plCreateRequire(import.meta.url);",
  },
});
