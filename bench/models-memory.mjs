// RSS of `pitlane serve models` under many large KServe v2 infer requests at once (issue 13, defect 12). Starts
// the real server on one model, reads its RSS from /proc, sends --requests requests at once (binary tensors or
// JSON), and reports the statuses, the peak RSS during them (sampled every 10 ms, plus VmHWM reset through
// /proc/PID/clear_refs where allowed) and the RSS a few seconds after (is memory given back?).
//   binary  --batch images as one FP32 tensor in Triton's binary extension (yolo11s-arch, batch 4: 19.7 MB)
//   json    the same tensor as JSON numbers (batch 1 of yolo11s-arch with 17-digit values: about 22 MB)
// Usage: node bench/models-memory.mjs [--model yolo11s-arch] [--formats binary,json] [--requests 40]
//        [--batch 4] [--json-batch 1] [--rounds 2] [--settle-s 5] [-- extra server flags]
import { parseArgs } from 'node:util';
import { peakRssDuring, rssMiB, sleep, startServed } from './served-process.mjs';
import { encodeInferRequest, INFERENCE_HEADER } from '../dist/inference/kserve/codec.js';
import { allocTensorData, shapeSize } from '../dist/inference/tensor/tensor.js';

const { values, positionals } = parseArgs({
  options: {
    model: { type: 'string', default: 'yolo11s-arch' },
    formats: { type: 'string', default: 'binary,json' },
    requests: { type: 'string', default: '40' },
    batch: { type: 'string', default: '4' },
    'json-batch': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    'settle-s': { type: 'string', default: '5' },
  },
  allowPositionals: true,
});
const { child, pid, url } = await startServed('models', ['--model', values.model, ...positionals]);
const rssMb = () => rssMiB(pid);

const meta = await (await fetch(`${url}/v2/models/${values.model}`)).json();
function body(format, batch) {
  const inputs = meta.inputs.map((m) => {
    const shape = m.shape.map((d, i) => (d < 0 ? (i === 0 ? batch : 1) : d));
    const data = allocTensorData(m.datatype, shapeSize(shape));
    for (let i = 0; i < data.length; i++)
      data[i] = typeof data[i] === 'bigint' ? BigInt(i % 7) : (i % 255) / 255;
    return { name: m.name, datatype: m.datatype, shape, data };
  });
  return encodeInferRequest({ inputs }, { binaryInputs: format === 'binary', binaryOutputs: true });
}
async function infer(encoded) {
  try {
    const headers = { 'content-type': encoded.contentType };
    if (encoded.headerLength !== undefined) headers[INFERENCE_HEADER] = String(encoded.headerLength);
    const res = await fetch(`${url}/v2/models/${values.model}/infer`, {
      method: 'POST',
      headers,
      body: encoded.body,
    });
    const buf = await res.arrayBuffer();
    return {
      status: res.status,
      error: res.status === 200 ? '' : Buffer.from(buf).toString('utf8').slice(0, 200),
    };
  } catch (err) {
    return { status: 'fetch failed', error: String(err.cause?.code ?? err.message) };
  }
}

// Warm up with one small request of each format so idle RSS includes what every request needs once.
for (const f of values.formats.split(',')) await infer(body(f, 1));
await sleep(1000);
const idle = rssMb();
console.log(`pitlane serve models ${values.model} ${positionals.join(' ')}: idle RSS ${idle.toFixed(0)} MB`);
const n = Number(values.requests);
for (const format of values.formats.split(',')) {
  const encoded = body(format, Number(format === 'json' ? values['json-batch'] : values.batch));
  for (let round = 0; round < Number(values.rounds); round++) {
    const {
      result: results,
      before,
      peak,
      ms,
    } = await peakRssDuring(pid, () => Promise.all(Array.from({ length: n }, () => infer(encoded))));
    const s = ms / 1000;
    await sleep(Number(values['settle-s']) * 1000);
    const after = rssMb();
    const counts = {};
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
    console.log(
      `${format.padEnd(6)} ${n} x ${(encoded.body.byteLength / 1e6).toFixed(1)} MB at once (round ${round + 1}): ` +
        `${Object.entries(counts)
          .map(([k, v]) => `${v}x ${k}`)
          .join(', ')}; RSS before ${before.toFixed(0)} MB, ` +
        `peak ${peak.toFixed(0)} MB (${(peak / idle).toFixed(2)}x idle), ${values['settle-s']} s after ${after.toFixed(0)} MB; ` +
        `${s.toFixed(1)} s (timing taken while other work may run)`,
    );
    const firstError = results.find((r) => r.error !== '')?.error;
    if (firstError) console.log(`       ${firstError}`);
  }
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
