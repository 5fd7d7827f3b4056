// The floor of a Node embedding server: node:http, JSON.parse, pitlane's EmbeddingService on the server's own thread
// (tokenizer, batcher, ONNX Runtime) and JSON.stringify, nothing else: no routing, validation, limits, metrics or
// logs. Not a product, a measure: what `pitlane serve embed` adds over the least a Node server can do
// (bench/embed-placement.yaml runs it beside the real server). GET: 200; POST any path with {"input": "text"}.
//   node bench/embed-placement/bare-server.mjs --port 8080 [--model minilm-l6-arch] [--placement inline|thread]
import http from 'node:http';
import { parseArgs } from 'node:util';
import { EmbeddingService } from '../../dist/inference/text/embedding-service.js';
import { loadModelRepository } from '../../dist/inference/tensor/model-repository.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    model: { type: 'string', default: 'minilm-l6-arch' },
    placement: { type: 'string', default: 'inline' },
  },
});
const root = new URL('../../', import.meta.url).pathname;
const spec = (await loadModelRepository(`${root}models.yaml`)).find((s) => s.id === values.model);
if (spec === undefined) throw new Error(`no model ${values.model} in models.yaml`);
const service = await EmbeddingService.load(spec, { tokenizerThreads: 0, placement: values.placement });
await service.embedder.warmUp();

// It listens once the model is loaded, so any GET (the lab's health check) is 200.
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.end('ok');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      try {
        const { input } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const r = await service.embed([input], { normalize: true });
        const [tokens] = r.tokens;
        const embedding = Array.from(r.vectors[0]);
        const data = [{ object: 'embedding', index: 0, embedding }];
        const usage = { prompt_tokens: tokens, total_tokens: tokens };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data, model: spec.id, usage }));
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      }
    })();
  });
});
server.listen(Number(values.port), '127.0.0.1', () => console.error(`listening on ${values.port}`));
process.on('SIGTERM', () => {
  server.close();
  void service.close().then(() => process.exit(0));
});
