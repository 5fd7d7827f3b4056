// The load engine's own benchmark (npm run build first; needs Debian's wrk: apt-get install -y wrk):
//  1. closed loop against a minimal Node HTTP server, pitlane vs wrk with the same connections and duration,
//     alternating, several rounds: the ratio of throughputs (target: pitlane within 10% of wrk);
//  2. open loop at a fixed rate: achieved rate vs target (target: within 1%) and schedule slip p99 (< 1 ms).
//   node bench/load-engine.mjs [--rounds 3] [--seconds 10] [--connections 16] [--rate 2000] [--open-seconds 30]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { HttpTarget } from '../dist/lab/load/http-target.js';
import { runLoad } from '../dist/lab/load/load-engine.js';
import { median } from '../dist/lab/stats.js';

const { values: o } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    rate: { type: 'string', default: '2000' },
    'open-seconds': { type: 'string', default: '30' },
  },
});
const rounds = Number(o.rounds);
const seconds = Number(o.seconds);
const connections = Number(o.connections);

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) =>
  server.stdout.once('data', (b) => resolve(Number(String(b).trim()))),
);
const url = `http://127.0.0.1:${port}/`;
const req = { method: 'GET', path: '/', headers: {}, body: null };

/** wrk prints its version with its usage and exits 1. */
function wrkVersion() {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Error('wrk is not installed: apt-get install -y wrk');
  return r.stdout.split('\n')[0];
}

function wrk() {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], { encoding: 'utf8' });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`unexpected wrk output:\n${out}`);
  return Number(m[1]);
}

async function pitlane() {
  const target = new HttpTarget(url, { connections, timeoutMs: 10_000 });
  const r = await runLoad(
    target,
    { next: () => req },
    { model: 'closed', concurrency: connections, durationMs: seconds * 1000 },
    { expectStatus: 200 },
  );
  await target.close();
  return { rps: r.throughputPerS, cpu: r.client.cpuPercent };
}

try {
  console.log(
    `${os.cpus()[0]?.model}, ${os.availableParallelism()} cores; Node ${process.versions.node}; ${wrkVersion()}`,
  );
  console.log(`closed loop: ${connections} connections, ${seconds} s, ${rounds} alternating rounds`);
  const w = [];
  const p = [];
  for (let i = 0; i < rounds; i++) {
    const first = i % 2 === 0;
    if (first) w.push(wrk());
    const r = await pitlane();
    p.push(r.rps);
    if (!first) w.push(wrk());
    console.log(
      `  round ${i + 1}: wrk ${w.at(-1).toFixed(0)} req/s, pitlane ${r.rps.toFixed(0)} req/s (client CPU ${r.cpu.toFixed(0)}%)`,
    );
  }
  console.log(
    `  median: wrk ${median(w).toFixed(0)}, pitlane ${median(p).toFixed(0)} req/s; pitlane/wrk = ${(median(p) / median(w)).toFixed(3)}`,
  );

  const rate = Number(o.rate);
  const openMs = Number(o['open-seconds']) * 1000;
  const target = new HttpTarget(url, { connections: 64, timeoutMs: 10_000 });
  const r = await runLoad(
    target,
    { next: () => req },
    { model: 'open', rate, arrival: 'constant', durationMs: openMs, seed: 1, maxInFlight: 1000 },
    { expectStatus: 200 },
  );
  await target.close();
  const achieved = (r.sent / openMs) * 1000;
  console.log(`open loop: ${rate} req/s for ${openMs / 1000} s`);
  console.log(
    `  scheduled ${r.scheduled}, sent ${r.sent}, ok ${r.ok}, dropped ${r.dropped}; achieved ${achieved.toFixed(1)} req/s (${((achieved / rate - 1) * 100).toFixed(2)}% off target)`,
  );
  console.log(
    `  schedule slip p50 ${r.slip.percentileMs(50).toFixed(3)} ms, p99 ${r.slip.percentileMs(99).toFixed(3)} ms, max ${r.slip.percentileMs(100).toFixed(3)} ms; client CPU ${r.client.cpuPercent.toFixed(0)}%`,
  );
  console.log(
    `  service p50 ${r.service.percentileMs(50).toFixed(3)} ms, p99 ${r.service.percentileMs(99).toFixed(3)} ms; response p99 ${r.response.percentileMs(99).toFixed(3)} ms`,
  );
} finally {
  server.kill();
}
