// The JSONL reader on hostile and ordinary input.
//   long   one line of N MiB (a JSON string) through a whole `pitlane run` (pass-through, -o to a file), beside
//          `wc -l` and `cat` on the same file: the reader must be linear in the line length (it was quadratic:
//          a 100 MB line took about a minute). Medians of --rounds runs, alternating the commands.
//   short  readJsonl alone over 10^6 short lines in 64 KiB chunks: the fast path every run takes (items/s).
// Usage: node bench/jsonl-reader.mjs [--sizes 10,30,100] [--rounds 5] [--json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { readJsonl } from '../dist/pipeline/jsonl.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,30,100' },
    rounds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pitlane-jsonl-bench-'));
const manifest = join(dir, 'pass.yaml');
writeFileSync(
  manifest,
  'version: v1\nmetadata: { name: pass }\nnodes:\n  - { id: s, node_type: DataSource }\n  - { id: k, node_type: DataSink }\nconnections:\n  - { from: s, to: k }\n',
);

function timed(cmd, args, stdout) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', stdout ?? 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const results = { machine: `${process.arch}, node ${process.version}`, long: [], short: null };
try {
  for (const mb of values.sizes.split(',').map(Number)) {
    const file = join(dir, `line-${mb}.jsonl`);
    writeFileSync(file, JSON.stringify({ text: 'a'.repeat(mb * 1024 * 1024 - 12) }) + '\n');
    const out = join(dir, 'out.jsonl');
    const t = { pitlane: [], wc: [], cat: [] };
    for (let i = 0; i < rounds; i++) {
      t.pitlane.push(timed(process.execPath, ['bin/pitlane.js', 'run', manifest, '-i', file, '-o', out]));
      t.wc.push(timed('wc', ['-l', file]));
      t.cat.push(timed('sh', ['-c', `cat '${file}' > '${out}'`]));
    }
    const row = {
      mib: mb,
      pitlane_ms: median(t.pitlane),
      wc_ms: median(t.wc),
      cat_ms: median(t.cat),
      ratio_to_wc: median(t.pitlane) / median(t.wc),
      ratio_to_cat: median(t.pitlane) / median(t.cat),
    };
    results.long.push(row);
    rmSync(file);
    if (!values.json) {
      console.log(
        `long line ${mb} MiB: pitlane run ${row.pitlane_ms.toFixed(0)} ms, wc -l ${row.wc_ms.toFixed(1)} ms, cat ${row.cat_ms.toFixed(1)} ms` +
          ` (×${row.ratio_to_wc.toFixed(1)} wc, ×${row.ratio_to_cat.toFixed(1)} cat; median of ${rounds})`,
      );
    }
  }

  const n = 1_000_000;
  const text = Array.from({ length: n }, (_, i) => `{"i":${i},"s":"item ${i}"}`).join('\n') + '\n';
  const buf = Buffer.from(text);
  const chunks = [];
  for (let i = 0; i < buf.length; i += 65536) chunks.push(buf.subarray(i, i + 65536));
  const ms = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    let count = 0;
    for await (const v of readJsonl(Readable.from(chunks))) if (v !== undefined) count++;
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (count !== n) throw new Error(`read ${count} of ${n}`);
  }
  results.short = { lines: n, ms: median(ms), lines_per_s: n / (median(ms) / 1000) };
  if (!values.json) {
    console.log(
      `short lines: ${n} in ${results.short.ms.toFixed(0)} ms, ${(results.short.lines_per_s / 1e6).toFixed(2)} M lines/s (median of ${rounds})`,
    );
  } else {
    console.log(JSON.stringify(results));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
