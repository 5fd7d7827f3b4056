// The echo API in Node (plain node:http): POST /echo returns the posted document with computed fields;
// GET /health answers {"status":"ok"}. The Python contestant (app.py) implements the same API.
//   node server.mjs --port 8080
import http from 'node:http';

const portArg = process.argv.indexOf('--port');
const port = Number(portArg >= 0 ? process.argv[portArg + 1] : (process.env.PORT ?? 8080));

/** The computed answer: the same in both contestants (see app.py). */
function answer(doc) {
  const values = Array.isArray(doc.values) ? doc.values.filter((v) => typeof v === 'number') : [];
  let sum = 0;
  for (const v of values) sum += v;
  return {
    id: doc.id ?? null,
    echo: doc,
    count: values.length,
    sum,
    mean: values.length > 0 ? sum / values.length : null,
    words: typeof doc.text === 'string' ? doc.text.split(/\s+/).filter(Boolean).length : 0,
  };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') return send(res, 200, { status: 'ok' });
  if (req.method !== 'POST' || req.url !== '/echo')
    return send(res, 404, { error: `no route ${req.method} ${req.url}` });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let doc;
    try {
      doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { error: 'body is not JSON' });
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      return send(res, 422, { error: 'body must be a JSON object' });
    send(res, 200, answer(doc));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
