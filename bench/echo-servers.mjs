// Echo servers for bench/model-server-overhead.mjs's floors: the cheapest round trip each transport allows on this
// machine, with no work behind it. Run as a script, it prints one JSON line {http, h2, grpc} of ports, then serves
// until killed:
//   http  node:http, POST: answers the body back (application/octet-stream)
//   h2    node:http2, a gRPC-shaped unary call: answers the length-prefixed body back, trailer grpc-status 0
//   grpc  @grpc/grpc-js Server, unary /bench.Echo/Echo, bytes in, the same bytes out
import http from 'node:http';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';

const identity = (b) => b;
/** The grpc-js echo service (raw bytes both ways), for servers and clients. */
export const ECHO_SERVICE = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** Starts the three servers; resolves with their ports. */
export async function startEchoServers() {
  const listen = (server) =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

  const h1 = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(Buffer.concat(chunks));
    });
  });
  const h2 = http2.createServer();
  h2.on('stream', (stream) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.concat(chunks));
    });
  });
  const grpc = new Server();
  grpc.addService(ECHO_SERVICE, { echo: (call, callback) => callback(null, call.request) });
  const grpcPort = await new Promise((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  return { http: await listen(h1), h2: await listen(h2), grpc: grpcPort };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await startEchoServers()));
