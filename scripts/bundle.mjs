// Bundles the CLI into dist/bundle/ (esbuild, ESM, code-split so each command loads only what it needs).
// Why: pitlane's dependencies ship as hundreds of small ESM files, and resolving them cost ~120 ms at every
// start; one bundle starts in about half the time (cold start is a headline number, see bench pipelines).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Pyodide loads its WebAssembly and standard library from files beside its own module: never bundle it.
  external: ['pyodide'],
  // CommonJS dependencies (commander) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __plCreateRequire } from 'node:module'; const require = __plCreateRequire(import.meta.url);",
  },
});
