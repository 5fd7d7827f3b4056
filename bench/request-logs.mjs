// What the request log (services/http/request-log.ts) costs per request: the model server's `GET /v2` (no
// inference, so the log line is a large part of what is measured) answered by three apps on loopback HTTP, one
// keep-alive connection, sequential requests: (a) no logger, (b) a logger at warn (the request line is skipped),
// (c) a logger at info writing a JSON line per request to /dev/null through pino's asynchronous destination, as
// the services write to stderr. The three alternate in blocks after a warm-up. Reports the median µs per request
// of each, and the median of the per-block differences from (a).
// Usage: node bench/request-logs.mjs [--blocks 20] [--per-block 500]
import { request, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { AffineEngine } from '../dist/inference/test-support.js';
import { listen } from '../dist/services/http/lifecycle.js';
import { createServiceLogger } from '../dist/services/http/request-log.js';
import { buildModelServerApp } from '../dist/services/models/app.js';

const { values } = parseArgs({
  options: {
    blocks: { type: 'string', default: '20' },
    'per-block': { type: 'string', default: '500' },
  },
});
const blocks = Number(values.blocks);
const perBlock = Number(values['per-block']);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

const dir = mkdtempSync(join(tmpdir(), 'pitlane-bench-logs-'));
const engine = await AffineEngine.load(dir);
const devNull = () => pino.destination({ dest: '/dev/null', sync: false });
const variants = [
  { name: 'no logger', logger: undefined },
  {
    name: 'logger at warn',
    logger: createServiceLogger('models', { level: 'warn', format: 'json', destination: devNull() }),
  },
  {
    name: 'logger at info',
    logger: createServiceLogger('models', { level: 'info', format: 'json', destination: devNull() }),
  },
];
for (const v of variants) {
  v.app = buildModelServerApp({
    engine,
    version: 'bench',
    models: () => [{ name: 'affine', versions: ['1'] }],
    ...(v.logger !== undefined && { logger: v.logger }),
  });
  v.port = await listen(v.app, '127.0.0.1', 0);
  v.agent = new Agent({ keepAlive: true, maxSockets: 1 });
  v.blocks = [];
}

function get(v) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: v.port, path: '/v2', agent: v.agent }, (res) => {
      res.on('data', () => {});
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

async function block(v, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await get(v);
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

for (const v of variants) await block(v, perBlock); // warm-up
for (let b = 0; b < blocks; b++) {
  for (const v of variants) v.blocks.push(await block(v, perBlock));
}

const base = variants[0];
console.log(`GET /v2, ${blocks} blocks of ${perBlock} sequential requests per variant (µs per request)`);
for (const v of variants) {
  const diff = v.blocks.map((x, i) => x - base.blocks[i]);
  console.log(
    `${v.name.padEnd(16)} median ${median(v.blocks).toFixed(1).padStart(7)}   vs no logger ${median(diff) >= 0 ? '+' : ''}${median(diff).toFixed(1)}`,
  );
}

for (const v of variants) {
  v.agent.destroy();
  await v.app.close();
}
await engine.close();
rmSync(dir, { recursive: true, force: true });
