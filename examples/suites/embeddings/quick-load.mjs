// A small closed-loop load check of one running embeddings server (any contestant of the suite), for use while
// building the suite, not in place of `pitlane bench`: it has no HDR histograms, no interleaving and no
// repeats. It runs
//   1. correctness (optional): the first 32 texts, one per request, against vectors from ort-ceiling.mjs
//      --vectors-out (cosine per text, minimum reported);
//   2. sequential latency: concurrency 1, every body of --bodies once, in file order (after a warm-up);
//   3. throughput: --concurrency clients (default 16), each sending its next body when its answer came,
//      until --requests bodies (default: two passes through the file) are answered.
// Latency is service time (sent → answer parsed). With --server-pid it also reports the cores the server, this
// client and everything else on the machine used in each phase (from /proc): on a shared machine, a phase
// where `others` is well above 0 is not a clean figure. Output: one JSON object on stdout; progress on stderr.
//   node quick-load.mjs --url http://127.0.0.1:8080 [--bodies texts.jsonl] [--concurrency 16]
//                       [--requests N] [--sequential N] [--warmup 20] [--server-pid PID]
//                       [--check-against FILE] [--vectors-out FILE]
// It takes cosine from dist/, so build first (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cosine } from '../../../dist/core/cosine.js';

const HERE = dirname(fileURLToPath(import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const url = `${arg('url', 'http://127.0.0.1:8080').replace(/\/$/, '')}/v1/embeddings`;
const bodiesFile = resolve(arg('bodies', join(HERE, 'texts.jsonl')));
const bodies = readFileSync(bodiesFile, 'utf8')
  .split('\n')
  .filter((l) => l.trim());
const concurrency = Number(arg('concurrency', 16));
const requests = Number(arg('requests', bodies.length * 2));
const sequential = Number(arg('sequential', bodies.length));
const warmup = Number(arg('warmup', 20));
const checkAgainst = arg('check-against', null);
const vectorsOut = arg('vectors-out', null);
const serverPid = arg('server-pid', null);
const log = (line) => process.stderr.write(`${line}\n`);

/** CPU seconds so far: the whole machine (/proc/stat), the server (when --server-pid is given), this client. */
function cpuNow() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const machine = (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle) / 100;
  let server = null;
  if (serverPid) {
    const stat = readFileSync(`/proc/${serverPid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    server = (Number(f[11]) + Number(f[12])) / 100;
  }
  const c = process.cpuUsage();
  return { machine, server, client: (c.user + c.system) / 1e6, at: performance.now() };
}

/** Cores used between two cpuNow() readings; `others` is what neither the server nor this client used. */
function coresUsed(a, b) {
  const s = (b.at - a.at) / 1000;
  const r = (x) => Number(x.toFixed(2));
  const machine = (b.machine - a.machine) / s;
  const client = (b.client - a.client) / s;
  const out = { machine: r(machine), client: r(client) };
  if (a.server !== null && b.server !== null) {
    out.server = r((b.server - a.server) / s);
    out.others = r(Math.max(0, machine - out.server - client));
  }
  return out;
}

const sequencesOf = (body) => {
  const input = JSON.parse(body).input;
  return Array.isArray(input) ? input.length : 1;
};

async function post(body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

function summary(ms) {
  const s = ms.slice().sort((a, b) => a - b);
  const at = (p) => Number(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)].toFixed(2));
  return {
    p50_ms: at(50),
    p90_ms: at(90),
    p99_ms: at(99),
    max_ms: at(100),
    mean_ms: Number((ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(2)),
    samples: ms.length,
  };
}

const result = { url, bodies: bodiesFile };

// 1. Correctness against the engine's own vectors.
if (checkAgainst || vectorsOut) {
  const first = bodies.slice(0, 32).map((b) => JSON.parse(b).input);
  const vectors = [];
  for (const input of first) vectors.push((await post(JSON.stringify({ input }))).data[0].embedding);
  if (vectorsOut) writeFileSync(vectorsOut, `${JSON.stringify(vectors)}\n`);
  if (checkAgainst) {
    const reference = JSON.parse(readFileSync(checkAgainst, 'utf8'));
    const cosines = vectors.map((v, i) => cosine(v, reference[i]));
    const worst = cosines.indexOf(Math.min(...cosines));
    result.correctness = {
      compared: cosines.length,
      min_cosine: cosines[worst],
      worst_index: worst,
      below_0_9999: cosines.filter((c) => c < 0.9999).length,
    };
    log(
      `correctness: min cosine ${cosines[worst]} (text ${worst}), ${result.correctness.below_0_9999} below 0.9999`,
    );
  }
}

// 2. Sequential latency.
for (let i = 0; i < warmup; i++) await post(bodies[i % bodies.length]);
if (sequential > 0) {
  const ms = [];
  const cpu0 = cpuNow();
  for (let i = 0; i < sequential; i++) {
    const t0 = performance.now();
    await post(bodies[i % bodies.length]);
    ms.push(performance.now() - t0);
  }
  result.sequential = { ...summary(ms), cores_used: coresUsed(cpu0, cpuNow()) };
  log(`sequential: p50 ${result.sequential.p50_ms} ms over ${ms.length} requests`);
}

// 3. Closed-loop throughput.
if (requests > 0) {
  let next = 0;
  let sequences = 0;
  const ms = [];
  const cpu0 = cpuNow();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const body = bodies[next++ % bodies.length];
        const t0 = performance.now();
        await post(body);
        ms.push(performance.now() - t0);
        sequences += sequencesOf(body);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cores = coresUsed(cpu0, cpuNow());
  result.closed_loop = {
    concurrency,
    requests: ms.length,
    seconds: Number(elapsed.toFixed(2)),
    requests_per_s: Number((ms.length / elapsed).toFixed(2)),
    sequences_per_s: Number((sequences / elapsed).toFixed(2)),
    latency: summary(ms),
    cores_used: cores,
  };
  log(
    `closed loop x${concurrency}: ${result.closed_loop.sequences_per_s} seq/s, ` +
      `p50 ${result.closed_loop.latency.p50_ms} ms over ${ms.length} requests in ${result.closed_loop.seconds} s`,
  );
}

process.stdout.write(`${JSON.stringify(result)}\n`);
