// RSS of `pitlane serve embed` under hostile and large requests (issue 13, defect 3). Starts the real server
// (one model, --json, port 0), reads its RSS from /proc, and for each case sends the requests at once and reports
// the peak RSS during them (sampled every 10 ms, and VmHWM reset through /proc/PID/clear_refs where allowed),
// the statuses, and the RSS a few seconds after (is memory given back?).
//   huge       3x10^6 one-character inputs, about 15 MB of JSON ({"inputs": ["a","a",...]}) to /embed
//   huge-oai   the same as {"input": [...]} to /v1/embeddings
//   largest    the largest request the limits admit in tokens: --max-client-batch-size inputs of equal length
//              whose tokens fill --max-request-tokens, to /embed
//   largest-body  the largest body admitted: --max-client-batch-size inputs whose text fills --max-body-mb
//              (truncate: true), to /embed
// Usage: node bench/embed-memory.mjs [--model minilm-l6-arch] [--cases huge,huge-oai,largest] [--at-once 1,2,8]
//        [--settle-s 5] [-- extra server flags]
import { parseArgs } from 'node:util';
import { peakRssDuring, rssMiB, sleep, startServed } from './served-process.mjs';

const { values, positionals } = parseArgs({
  options: {
    model: { type: 'string', default: 'minilm-l6-arch' },
    cases: { type: 'string', default: 'huge,huge-oai,largest,largest-body' },
    'at-once': { type: 'string', default: '1,2,8' },
    'settle-s': { type: 'string', default: '5' },
  },
  allowPositionals: true,
});
const { child, pid, url } = await startServed('embed', ['--model', values.model, ...positionals]);
const rssMb = () => rssMiB(pid);

// Warm the server with a few normal requests so idle RSS includes what every request needs once.
for (let i = 0; i < 5; i++) await post('/embed', JSON.stringify({ inputs: ['warm the server up', 'twice'] }));
await sleep(1000);
const idle = rssMb();
const info = await (await fetch(`${url}/info`)).json();
console.log(`pitlane serve embed ${values.model} ${positionals.join(' ')}`);
console.log(`idle RSS ${idle.toFixed(0)} MB; /info limits: ${JSON.stringify(limitsOf(info))}`);

async function post(path, body) {
  try {
    const res = await fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    return { status: res.status, error: res.status === 200 ? '' : text.slice(0, 160) };
  } catch (err) {
    return { status: 'fetch failed', error: String(err.cause?.code ?? err.message) };
  }
}

function limitsOf(i) {
  const keys = [
    'max_client_batch_size',
    'max_request_tokens',
    'max_input_length',
    'max_body_bytes',
    'max_concurrent_requests',
  ];
  return Object.fromEntries(keys.filter((k) => i[k] !== undefined).map((k) => [k, i[k]]));
}

function bodyOf(name) {
  if (name === 'huge' || name === 'huge-oai') {
    const field = name === 'huge' ? 'inputs' : 'input';
    return {
      path: name === 'huge' ? '/embed' : '/v1/embeddings',
      body: `{"${field}":[${'"a",'.repeat(2_999_999)}"a"]}`,
    };
  }
  const items = info.max_client_batch_size ?? 32;
  if (name === 'largest-body') {
    // The largest body admitted: as many inputs as allowed, filling --max-body-mb with text to tokenize (cut).
    const chars = Math.floor(((info.max_body_bytes ?? 2 ** 21) - 200) / items) - 8;
    const text = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(chars / 27)).slice(0, chars);
    return {
      path: '/embed',
      body: JSON.stringify({ inputs: Array.from({ length: items }, () => text), truncate: true }),
    };
  }
  // The largest admitted request in tokens: as many inputs as allowed, each as long as the token limit allows.
  const tokens = Math.min(
    info.max_input_length ?? 512,
    Math.floor((info.max_request_tokens ?? 16384) / items),
  );
  const words = Math.max(1, tokens - 2); // [CLS] and [SEP]
  const text = Array.from({ length: words }, (_, i) => `w${i % 50}`).join(' ');
  return {
    path: '/embed',
    body: JSON.stringify({ inputs: Array.from({ length: items }, () => text), truncate: true }),
  };
}

for (const name of values.cases.split(',')) {
  const { path, body } = bodyOf(name);
  for (const n of values['at-once'].split(',').map(Number)) {
    await sleep(500);
    const {
      result: results,
      before,
      peak,
      ms,
    } = await peakRssDuring(pid, () => Promise.all(Array.from({ length: n }, () => post(path, body))));
    await sleep(Number(values['settle-s']) * 1000);
    const after = rssMb();
    const statuses = [...new Set(results.map((r) => r.status))].join('/');
    console.log(
      `${name.padEnd(9)} x${String(n).padEnd(2)} ${(body.length / 1e6).toFixed(1).padStart(5)} MB each: ` +
        `status ${statuses}; RSS before ${before.toFixed(0)} MB, peak ${peak.toFixed(0)} MB ` +
        `(${(peak / idle).toFixed(2)}x idle), ${values['settle-s']} s after ${after.toFixed(0)} MB; ` +
        `${(ms / 1000).toFixed(1)} s (timing taken while other work may run)`,
    );
    const firstError = results.find((r) => r.error !== '')?.error;
    if (firstError) console.log(`          ${firstError}`);
  }
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
