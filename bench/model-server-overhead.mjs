// What `pitlane serve models` adds over in-process inference, per request at batch 1: the same model, the same
// inputs, called (a) in this process through LocalInference (dynamic batcher + inference thread), (b) over loopback
// HTTP through the KServe client against `pitlane serve models` in a child process, with binary tensors and with
// JSON, and (c) over loopback gRPC through the gRPC KServe client against the same server. Sequential requests,
// paths alternating in blocks, after a warm-up: p50 and p99 of each path, and the overhead (p50 over in-process,
// and the median of the per-block differences). Then throughput at a fixed concurrency (default 16) for HTTP binary
// and gRPC, alternating in rounds. Also where the HTTP time goes: the median of each part of the server's own
// Server-Timing split over the http-binary requests (decode, queue, input, infer, output, encode), and the floor
// of a loopback HTTP round trip on this machine (sequential GET /v2/health/live, no engine), and the floors of each
// hand-over with no work behind it (bench/echo-servers.mjs in another process): a message to a worker thread and
// back, an HTTP/1.1 POST echo (node:http, undici), a gRPC-shaped HTTP/2 echo (node:http2 both sides) and a grpc-js
// unary echo (grpc-js both sides), each with a body of the binary request's size. On a VM whose idle vCPUs halt,
// each of these costs mostly the wake-ups of the sleeping side, which no server code can avoid. The echoes are
// also run at the throughput test's concurrency.
// Usage: node bench/model-server-overhead.mjs [--model doubler|blazeface-256|...] [--blocks 20] [--per-block 50]
//          [--concurrency 16] [--seconds 3] [--rounds 2] [--json]
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import { Worker } from 'node:worker_threads';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { ECHO_SERVICE } from './echo-servers.mjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { KServeClient } from '../dist/inference/kserve/client.js';
import { KServeGrpcClient } from '../dist/inference/kserve/grpc-client.js';
import { createLocalInference } from '../dist/inference/tensor/local-inference.js';
import { loadModelRepository } from '../dist/inference/tensor/model-repository.js';
import { shapeSize, allocTensorData } from '../dist/inference/tensor/tensor.js';
import { writeDoublerModel } from '../dist/inference/test-support.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'blazeface-256' },
    blocks: { type: 'string', default: '20' },
    'per-block': { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const blocks = Number(values.blocks);
const perBlock = Number(values['per-block']);
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))];
};
const median = (xs) => quantile(xs, 0.5);
const say = (line) => {
  if (!values.json) console.log(line);
};

const temp = mkdtempSync(join(tmpdir(), 'pitlane-ms-overhead-'));
let modelsFile = join(process.cwd(), 'models.yaml');
if (values.model === 'doubler') {
  await writeDoublerModel(join(temp, 'doubler.onnx'));
  modelsFile = join(temp, 'models.yaml');
  writeFileSync(
    modelsFile,
    'models:\n  doubler: { name: tiny test model, paths: { onnx: doubler.onnx }, threads: { intra_op: 1 } }\n',
  );
}
const spec = (await loadModelRepository(modelsFile)).find((s) => s.id === values.model);
if (spec === undefined) throw new Error(`no model ${values.model} in ${modelsFile}`);

const child = spawn(
  process.execPath,
  // --log-level warn: no request line per request (bench/request-logs.mjs measures what one costs).
  [
    'bin/pitlane.js',
    'serve',
    'models',
    '--models',
    modelsFile,
    '--model',
    spec.id,
    '--port',
    '0',
    '--json',
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const ready = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (b) => {
    out += b;
    if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
  });
  child.on('exit', (code) => reject(new Error(`serve models exited (${code})`)));
});

const local = await createLocalInference([spec]);
const binary = new KServeClient({ url: ready.url, binary: true });
const json = new KServeClient({ url: ready.url, binary: false });
const grpc = new KServeGrpcClient({ url: ready.grpc_url });
const meta = await local.modelMetadata(spec.id);
const inputs = () =>
  meta.inputs.map((m) => {
    const shape = m.shape.map((d) => (d < 0 ? 1 : d));
    const data = allocTensorData(m.datatype, shapeSize(shape));
    for (let i = 0; i < data.length; i++)
      data[i] = typeof data[i] === 'bigint' ? BigInt(i % 7) : (i % 255) / 255;
    return { name: m.name, datatype: m.datatype, shape, data };
  });
const bytes = inputs().reduce((n, t) => n + t.data.byteLength, 0);

// -- Sequential latency, paths alternating in blocks.
const paths = { 'in-process': local, 'http-binary': binary, 'http-json': json, grpc };
/** The http-binary requests' Server-Timing parts, in ms. */
const split = {};
const times = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
const blockMedians = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
for (const engine of Object.values(paths))
  for (let i = 0; i < 30; i++) await engine.infer(spec.id, { inputs: inputs() });
for (let b = 0; b < blocks; b++) {
  const order = b % 2 === 0 ? Object.keys(paths) : Object.keys(paths).reverse();
  for (const name of order) {
    const block = [];
    for (let i = 0; i < perBlock; i++) {
      const ins = inputs();
      const t0 = performance.now();
      const answer = await paths[name].infer(spec.id, { inputs: ins });
      block.push(performance.now() - t0);
      if (name === 'http-binary')
        for (const [part, ms] of Object.entries(answer.serverTiming ?? {})) (split[part] ??= []).push(ms);
    }
    times[name].push(...block);
    blockMedians[name].push(median(block));
  }
}
const base = median(times['in-process']);
const sequential = Object.keys(paths).map((name) => {
  const diffs = blockMedians[name].map((m, i) => m - blockMedians['in-process'][i]);
  return {
    path: name,
    p50_ms: median(times[name]),
    p99_ms: quantile(times[name], 0.99),
    overhead_p50_us: name === 'in-process' ? 0 : (median(times[name]) - base) * 1000,
    overhead_block_median_us: name === 'in-process' ? 0 : median(diffs) * 1000,
  };
});

// -- The floor: a loopback HTTP round trip that does no work (one keep-alive connection, sequential).
const probe = new Pool(ready.url, { connections: 1 });
const floor = [];
for (let i = 0; i < 300 + blocks * perBlock; i++) {
  const t0 = performance.now();
  const res = await probe.request({ path: '/v2/health/live', method: 'GET' });
  await res.body.dump();
  if (i >= 300) floor.push(performance.now() - t0);
}
await probe.close();

// -- The floors of each hand-over, no work behind them, a body of the binary request's size.
const echoChild = spawn(process.execPath, ['bench/echo-servers.mjs'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const echoPorts = await new Promise((resolve) => {
  let out = '';
  echoChild.stdout.on('data', (b) => {
    out += b;
    if (out.includes('\n')) resolve(JSON.parse(out));
  });
});
const echoBody = Buffer.alloc(bytes + 160, 7);
const grpcFrame = Buffer.alloc(5 + echoBody.length);
grpcFrame.writeUInt32BE(echoBody.length, 1);
echoBody.copy(grpcFrame, 5);
const thread = new Worker(
  "require('node:worker_threads').parentPort.on('message', function (m) { this.postMessage(m); });",
  { eval: true },
);
const h1 = new Pool(`http://127.0.0.1:${echoPorts.http}`, { connections: 1 });
const h2 = http2.connect(`http://127.0.0.1:${echoPorts.h2}`);
const h2ToGrpcJs = http2.connect(`http://127.0.0.1:${echoPorts.grpc}`);
const EchoClient = makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
const grpcEcho = new EchoClient(`127.0.0.1:${echoPorts.grpc}`, credentials.createInsecure());
const floorCalls = {
  'thread hand-over': () =>
    new Promise((resolve) => {
      thread.once('message', resolve);
      thread.postMessage(echoBody);
    }),
  'http/1.1 echo': async () => {
    const res = await h1.request({ path: '/', method: 'POST', body: echoBody });
    await res.body.arrayBuffer();
  },
  'http/2 echo': () => h2Call(h2),
  'http/2 client, grpc-js server echo': () => h2Call(h2ToGrpcJs),
  'grpc-js echo': () =>
    new Promise((resolve, reject) => grpcEcho.echo(echoBody, (err, v) => (err ? reject(err) : resolve(v)))),
};
/** A gRPC-shaped unary call of the echo body over a node:http2 session. */
function h2Call(session) {
  return new Promise((resolve, reject) => {
    const call = session.request({
      ':method': 'POST',
      ':path': '/bench.Echo/Echo',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    call.on('data', () => undefined);
    call.on('error', reject);
    call.on('close', resolve);
    call.end(grpcFrame);
  });
}
const floors = {};
for (const [name, call] of Object.entries(floorCalls)) {
  const ts = [];
  for (let i = 0; i < 300 + blocks * perBlock; i++) {
    const t0 = performance.now();
    await call();
    if (i >= 300) ts.push(performance.now() - t0);
  }
  floors[name] = median(ts) * 1000;
}
// The same echoes at the concurrency of the throughput test below (the thread hand-over left out: one thread).
// HTTP/1.1 gets a connection per client, as the KServe client's pool has; HTTP/2 multiplexes on one.
const h1Wide = new Pool(`http://127.0.0.1:${echoPorts.http}`, { connections: concurrency });
const floorRates = {};
for (const [name, call] of Object.entries(floorCalls)) {
  if (name === 'thread hand-over') continue;
  const wide =
    name === 'http/1.1 echo'
      ? async () => {
          const res = await h1Wide.request({ path: '/', method: 'POST', body: echoBody });
          await res.body.arrayBuffer();
        }
      : call;
  floorRates[name] = await throughput({ infer: wide });
}
await h1Wide.close();
await Promise.all([h1.close(), thread.terminate()]);
h2.close();
h2ToGrpcJs.close();
grpcEcho.close();
echoChild.kill('SIGTERM');
const serverSplit = Object.fromEntries(Object.entries(split).map(([part, ms]) => [part, median(ms) * 1000]));

// -- Throughput at a fixed concurrency, HTTP binary and gRPC alternating in rounds.
async function throughput(engine) {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await engine.infer(spec.id, { inputs: inputs() });
        done++;
      }
    }),
  );
  return done / seconds;
}
const rates = { 'http-binary': [], grpc: [] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? ['http-binary', 'grpc'] : ['grpc', 'http-binary'];
  for (const name of order) rates[name].push(await throughput(paths[name]));
}
const concurrent = Object.entries(rates).map(([path, rs]) => ({
  path,
  concurrency,
  requests_per_s: median(rs),
}));

const result = {
  model: spec.id,
  backend: spec.backend,
  batch: 1,
  input_bytes: bytes,
  blocks,
  per_block: perBlock,
  sequential,
  http_floor_p50_us: median(floor) * 1000,
  echo_floors_p50_us: floors,
  echo_floors_requests_per_s: floorRates,
  http_binary_server_split_p50_us: serverSplit,
  concurrent,
};
if (values.json) {
  console.log(JSON.stringify(result));
} else {
  say(
    `model ${spec.id} (${spec.backend}), batch 1, ${bytes} input bytes; ${blocks} blocks x ${perBlock} sequential requests per path`,
  );
  say('path           p50 ms    p99 ms   overhead µs (p50 − in-process)   median of block differences µs');
  for (const s of sequential) {
    say(
      `${s.path.padEnd(14)} ${s.p50_ms.toFixed(3).padStart(7)}  ${s.p99_ms.toFixed(3).padStart(8)}   ` +
        `${s.overhead_p50_us.toFixed(0).padStart(28)}   ${s.overhead_block_median_us.toFixed(0).padStart(30)}`,
    );
  }
  say(
    `loopback HTTP round trip with no work (GET /v2/health/live): p50 ${(median(floor) * 1000).toFixed(0)} µs`,
  );
  say(
    `floors, no work behind them (p50 µs, ${echoBody.length} bytes each way): ` +
      Object.entries(floors)
        .map(([name, us]) => `${name} ${us.toFixed(0)}`)
        .join(', '),
  );
  say(
    `the same echoes at concurrency ${concurrency} (requests/s, one run of ${seconds} s): ` +
      Object.entries(floorRates)
        .map(([name, rate]) => `${name} ${rate.toFixed(0)}`)
        .join(', '),
  );
  say(
    `http-binary, the server's Server-Timing (p50 µs): ` +
      Object.entries(serverSplit)
        .map(([part, us]) => `${part} ${us.toFixed(0)}`)
        .join(', '),
  );
  say(`throughput at concurrency ${concurrency} (${rounds} rounds of ${seconds} s, median):`);
  for (const c of concurrent) say(`${c.path.padEnd(14)} ${c.requests_per_s.toFixed(0)} requests/s`);
}
await Promise.all([local.close(), binary.close(), json.close(), grpc.close()]);
child.kill('SIGTERM');
rmSync(temp, { recursive: true, force: true });
