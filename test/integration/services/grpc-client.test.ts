// pitlane's gRPC client (inference/kserve/grpc-client.ts, gRPC over node:http2) against a real model server on a
// real port: the affine ONNX graph behind the gRPC endpoint of `serve models`. A slow call is made for real by
// holding the model's batches at their gate (AffineEngine.hold: the request is in the engine, queued behind a held
// batch, and nothing answers until the test lets go). Faults the real server never produces (a compressed message,
// a wrong content-type, a prefix split across DATA frames, GOAWAY, a refused stream, a session torn down) come from
// a raw node:http2 server written here, which also records what the client sends.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  constants as h2,
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import {
  connect as netConnect,
  createServer as createNetServer,
  type AddressInfo,
  type Socket,
} from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KServeGrpcClient } from '../../../dist/inference/kserve/grpc-client.js';
import { inferenceService } from '../../../dist/inference/kserve/grpc-proto.js';
import type { Tensor } from '../../../dist/inference/tensor/tensor.js';
import { AffineEngine, suiteTempDir, until } from '../../../dist/inference/test-support.js';
import { InFlightBudget } from '../../../dist/services/http/request-limits.js';
import { startModelGrpcServer, type ModelGrpcServer } from '../../../dist/services/models/grpc/server.js';

const CLIENT_JS = fileURLToPath(new URL('../../../dist/inference/kserve/grpc-client.js', import.meta.url));

function affineTensors(): Tensor[] {
  return [
    { name: 'X', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
    { name: 'B', datatype: 'FP32', shape: [4], data: new Float32Array(4) },
    { name: 'IDS', datatype: 'INT64', shape: [1], data: new BigInt64Array([5n]) },
  ];
}

describe('gRPC client against the real server (affine model)', () => {
  const dir = suiteTempDir('pitlane-grpc-client-');
  let engine: AffineEngine;
  let budget: InFlightBudget;
  let server: ModelGrpcServer;
  const start = (port: number): Promise<ModelGrpcServer> =>
    startModelGrpcServer({ engine, version: 'test', inFlight: budget }, '127.0.0.1', port);

  before(async () => {
    engine = await AffineEngine.load(dir());
    budget = new InFlightBudget({
      name: 'request bytes in flight',
      flag: '--max-inflight-mb',
      value: 256 << 20,
      unit: 'bytes',
      status: 429,
    });
    server = await start(0);
  });
  after(async () => {
    await server.close(1000);
    await engine.close();
  });

  test('deadline: a call queued behind a held batch fails naming the address; the server drops it', async () => {
    const url = `grpc://127.0.0.1:${server.port}`;
    const patient = new KServeGrpcClient({ url });
    const hasty = new KServeGrpcClient({ url, timeoutMs: 300 });
    const release = engine.hold();
    const before = engine.inferences;
    let first: Promise<unknown> | undefined;
    try {
      const started = engine.started;
      first = patient.infer('affine', { id: 'held', inputs: affineTensors() });
      await until(() => engine.started === started + 1, 'the first request reaches the held model');
      const late = hasty.infer('affine', { id: 'late', inputs: affineTensors() });
      await until(() => engine.batcher.stats.queued === 1, 'the second request is queued');
      await assert.rejects(late, (err: Error) => {
        assert.match(
          err.message,
          new RegExp(`^grpc://127\\.0\\.0\\.1:${server.port}: no answer to ModelInfer within 300 ms`),
        );
        return true;
      });
      await until(() => engine.batcher.stats.queued === 0, 'the server drops the cancelled request');
    } finally {
      release();
    }
    assert.equal(((await first) as { id: string }).id, 'held');
    assert.equal(engine.inferences, before + 1, 'the request past its deadline never ran');
    // The same client goes on: the deadline cancelled one stream, not the session.
    assert.equal(await hasty.live(), true);
    await Promise.all([patient.close(), hasty.close()]);
  });

  test('large requests and answers at once on one session (4 × 4 MiB each way)', async () => {
    const client = new KServeGrpcClient({ url: `grpc://127.0.0.1:${server.port}` });
    try {
      const rows = 1 << 20;
      const results = await Promise.all(
        [0, 1, 2, 3].map((k) => {
          const x = new Float32Array(rows * 4).map((_, i) => (i % 1000) + k);
          const [, b, ids] = affineTensors();
          return client.infer('affine', {
            id: `big${k}`,
            inputs: [{ name: 'X', datatype: 'FP32', shape: [rows, 4], data: x }, b!, ids!],
            outputs: ['Y'],
          });
        }),
      );
      for (const [k, r] of results.entries()) {
        assert.equal(r.id, `big${k}`);
        const y = r.outputs[0]!.data as Float32Array;
        assert.equal(y.length, rows * 4);
        // Y = 2X + B with B = 0 (the affine graph).
        for (const i of [0, 1, 999, 1000, rows * 4 - 1]) assert.equal(y[i], 2 * ((i % 1000) + k));
      }
    } finally {
      await client.close();
    }
  });

  test('an answer over maxReceiveBytes is refused from its prefix; the next call works', async () => {
    const client = new KServeGrpcClient({ url: `grpc://127.0.0.1:${server.port}`, maxReceiveBytes: 64 });
    try {
      await assert.rejects(
        client.infer('affine', { inputs: affineTensors() }),
        /: ModelInfer answer refused: the message is \d+ bytes, over the limit of 64 \(maxReceiveBytes\)/,
      );
      assert.equal(await client.live(), true);
    } finally {
      await client.close();
    }
  });

  test('an unknown model: the trailers-only NOT_FOUND answer is ModelNotFoundError', async () => {
    const client = new KServeGrpcClient({ url: `grpc://127.0.0.1:${server.port}` });
    try {
      await assert.rejects(client.infer('nope', { inputs: affineTensors() }), {
        name: 'ModelNotFoundError',
        message: "unknown model 'nope'",
      });
      await assert.rejects(client.modelMetadata('nope', '3'), { name: 'ModelNotFoundError' });
      assert.equal(await client.modelReady('nope'), false);
    } finally {
      await client.close();
    }
  });

  test('the server restarted between two calls: the second reconnects; a call in flight fails naming it', async () => {
    const port = server.port;
    const url = `grpc://127.0.0.1:${port}`;
    const client = new KServeGrpcClient({ url });
    try {
      assert.equal((await client.infer('affine', { id: 'one', inputs: affineTensors() })).id, 'one');
      await server.close(1000);
      server = await start(port);
      assert.equal((await client.infer('affine', { id: 'two', inputs: affineTensors() })).id, 'two');

      // Shut down with a call held in the model: the drain ends, the server cancels it, and the call fails.
      const release = engine.hold();
      try {
        const started = engine.started;
        const held = client.infer('affine', { id: 'held', inputs: affineTensors() });
        await until(() => engine.started === started + 1, 'the call reaches the held model');
        await server.close(100);
        await assert.rejects(held, (err: Error) => {
          assert.ok(err.message.includes(url), err.message);
          return true;
        });
      } finally {
        release();
      }
      server = await start(port);
      assert.equal((await client.infer('affine', { id: 'three', inputs: affineTensors() })).id, 'three');
    } finally {
      await client.close();
    }
  });

  test('nothing listening: an Error naming the address, for every call', async () => {
    const gone = await start(0);
    await gone.close();
    const client = new KServeGrpcClient({ url: `127.0.0.1:${gone.port}` });
    try {
      for (const [rpc, call] of [
        ['ModelInfer', () => client.infer('affine', { inputs: affineTensors() })],
        ['ModelMetadata', () => client.modelMetadata('affine')],
        ['ServerReady', () => client.ready()],
      ] as const) {
        await assert.rejects(
          call(),
          new RegExp(
            `^Error: cannot reach the KServe gRPC server at grpc://127\\.0\\.0\\.1:${gone.port} \\(${rpc}\\): .*ECONNREFUSED`,
          ),
        );
      }
    } finally {
      await client.close();
    }
  });

  test('an idle client does not keep the process alive', async () => {
    const script =
      `const { KServeGrpcClient } = await import(${JSON.stringify(CLIENT_JS)});` +
      `const c = new KServeGrpcClient({ url: 'grpc://127.0.0.1:${server.port}' });` +
      `console.log(await c.live());`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { timeout: 20_000 },
        (err, stdout, stderr) => {
          if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
    assert.equal(out.trim(), 'true');
  });
});

// -----------------------------------------------------------------------------------------------------------
// A raw HTTP/2 server for what the real one never does

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer, n: number) => void;

interface RawServer {
  readonly url: string;
  /** The request headers and body of every stream, in order. */
  readonly seen: { headers: IncomingHttpHeaders; body: Buffer }[];
  /** The rstCode of every stream that closed, in order. */
  readonly closed: number[];
  sessions: number;
  handle: Handler;
  /** Streams it must leave unread (their request body stays in the client's buffers). */
  stall: (headers: IncomingHttpHeaders) => boolean;
  close(): Promise<void>;
}

async function rawServer(): Promise<RawServer> {
  const h2server: Http2Server = createServer();
  const live = new Set<Http2Session>();
  const raw: RawServer = {
    url: '',
    seen: [],
    closed: [],
    sessions: 0,
    handle: () => undefined,
    stall: () => false,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        h2server.close(() => {
          resolve();
        });
      }),
  };
  h2server.on('session', (session: Http2Session) => {
    raw.sessions++;
    live.add(session);
    session.on('close', () => live.delete(session));
  });
  h2server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    if (raw.stall(headers)) {
      stream.on('error', () => undefined);
      return;
    }
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('close', () => raw.closed.push(stream.rstCode));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      const body = Buffer.concat(parts);
      raw.seen.push({ headers, body });
      raw.handle(stream, headers, body, raw.seen.length);
    });
  });
  await new Promise<void>((resolve) => h2server.listen(0, '127.0.0.1', resolve));
  const { port } = h2server.address() as AddressInfo;
  return Object.assign(raw, { url: `grpc://127.0.0.1:${port}` });
}

const GRPC_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

/** A ServerMetadata answer's message, length-prefixed (flag: 0, or 1 to claim compression). */
function metadataFrame(flag = 0): Buffer {
  const message = inferenceService().ServerMetadata.responseSerialize({
    name: 'raw',
    version: '9',
    extensions: ['x'],
  });
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(flag, 0);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** Answers with headers, the body, and trailers (status OK unless given). */
function answer(stream: ServerHttp2Stream, body: Buffer, trailers: Record<string, string> = {}): void {
  stream.respond(GRPC_HEADERS, { waitForTrailers: true });
  stream.on('wantTrailers', () => {
    stream.sendTrailers({ 'grpc-status': '0', ...trailers });
  });
  stream.end(body);
}

const nextTick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('gRPC client against a raw HTTP/2 server', () => {
  let raw: RawServer;
  before(async () => {
    raw = await rawServer();
  });
  after(async () => {
    await raw.close();
  });

  test('what a call sends: path, gRPC headers, grpc-timeout, the metadata, one uncompressed message', async () => {
    raw.handle = (stream) => {
      answer(stream, metadataFrame());
    };
    const client = new KServeGrpcClient({
      url: raw.url,
      timeoutMs: 2500,
      headers: { 'X-Request-Id': 'abc-1', authorization: 'Bearer t0ken' },
    });
    try {
      assert.deepEqual(await client.serverMetadata(), { name: 'raw', version: '9', extensions: ['x'] });
      const { headers, body } = raw.seen.at(-1)!;
      assert.equal(headers[':method'], 'POST');
      assert.equal(headers[':path'], '/inference.GRPCInferenceService/ServerMetadata');
      assert.equal(headers['content-type'], 'application/grpc');
      assert.equal(headers.te, 'trailers');
      assert.equal(headers['grpc-timeout'], '2500m');
      assert.equal(headers['x-request-id'], 'abc-1');
      assert.equal(headers.authorization, 'Bearer t0ken');
      // An empty ServerMetadataRequest: the 5-byte prefix, flag 0, length 0.
      assert.deepEqual([...body], [0, 0, 0, 0, 0]);
    } finally {
      await client.close();
    }
    assert.throws(
      () => new KServeGrpcClient({ url: raw.url, headers: { 'grpc-status': '0' } }),
      /header 'grpc-status' cannot be sent as metadata/,
    );
    assert.throws(
      () => new KServeGrpcClient({ url: raw.url, headers: { 'trace-bin': 'x' } }),
      /header 'trace-bin' is binary metadata/,
    );
    assert.throws(
      () => new KServeGrpcClient({ url: raw.url, headers: { note: 'é' } }),
      /the value of header 'note' must be printable ASCII/,
    );
  });

  test('a message and its prefix split across DATA frames anywhere', async () => {
    const frame = metadataFrame();
    for (const cuts of [[1], [3, 4], [5], [2, 7, 9]]) {
      raw.handle = (stream) => {
        stream.respond(GRPC_HEADERS, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        void (async () => {
          let from = 0;
          for (const cut of [...cuts, frame.length]) {
            stream.write(frame.subarray(from, cut));
            from = cut;
            await nextTick();
          }
          stream.end();
        })();
      };
      const client = new KServeGrpcClient({ url: raw.url });
      try {
        assert.deepEqual(
          await client.serverMetadata(),
          { name: 'raw', version: '9', extensions: ['x'] },
          String(cuts),
        );
      } finally {
        await client.close();
      }
    }
  });

  test('refused: a compressed message, a content-type not gRPC, an HTTP error, a second message, none', async () => {
    const client = new KServeGrpcClient({ url: raw.url });
    const cases: [Handler, RegExp][] = [
      [
        (stream) => {
          // The message only, the stream left open: the client must cancel it.
          stream.respond(GRPC_HEADERS);
          stream.write(metadataFrame(1));
        },
        /ServerMetadata answer refused: the message is compressed, and no compression was asked for/,
      ],
      [
        (stream) => {
          stream.respond({ ':status': 200, 'content-type': 'text/html' });
          stream.end('<html>');
        },
        /ServerMetadata answered content-type 'text\/html', not application\/grpc/,
      ],
      [
        (stream) => {
          stream.respond({ ':status': 503, 'content-type': 'text/plain' });
          stream.end('busy');
        },
        /ServerMetadata answered HTTP 503 \(text\/plain\), not a gRPC answer/,
      ],
      [
        (stream) => {
          answer(stream, Buffer.concat([metadataFrame(), metadataFrame()]));
        },
        /ServerMetadata answered OK with 2 messages, not one/,
      ],
      [
        (stream) => {
          answer(stream, metadataFrame().subarray(0, 7));
        },
        /ServerMetadata answered OK with a truncated message, not one/,
      ],
      [
        (stream) => {
          stream.respond(GRPC_HEADERS);
          stream.end();
        },
        /ServerMetadata got no answer: /,
      ],
    ];
    try {
      for (const [handle, expected] of cases) {
        raw.handle = handle;
        const closedBefore = raw.closed.length;
        await assert.rejects(client.serverMetadata(), (err: Error) => {
          assert.match(err.message, expected);
          assert.ok(err.message.startsWith(raw.url) || err.message.includes(raw.url), err.message);
          return true;
        });
        await until(() => raw.closed.length > closedBefore, 'the stream closes on the server');
        // The compressed message was refused from its prefix: its stream was cancelled (RST_STREAM CANCEL).
        if (handle === cases[0]?.[0]) assert.equal(raw.closed.at(-1), h2.NGHTTP2_CANCEL);
      }
    } finally {
      await client.close();
    }
  });

  test('statuses from a trailers-only answer, percent-decoded, as the engine errors', async () => {
    const client = new KServeGrpcClient({ url: raw.url });
    const trailersOnly = (status: number, message: string, extra: Record<string, string> = {}): Handler => {
      return (stream) => {
        stream.respond(
          { ...GRPC_HEADERS, 'grpc-status': String(status), 'grpc-message': message, ...extra },
          { endStream: true },
        );
      };
    };
    try {
      raw.handle = trailersOnly(3, 'inputs%5B0%5D %27X%27: bad %E2%9C%93 100%');
      await assert.rejects(client.infer('affine', { inputs: affineTensors() }), {
        name: 'InferenceInputError',
        message: "inputs[0] 'X': bad ✓ 100%",
      });
      raw.handle = trailersOnly(5, 'no such model');
      await assert.rejects(client.infer('m', { inputs: affineTensors() }, '2'), {
        name: 'ModelNotFoundError',
      });
      raw.handle = trailersOnly(8, 'the queue is full (3 sequences waiting)', { 'retry-after': '4' });
      await assert.rejects(client.infer('m', { inputs: affineTensors() }), (err: Error) => {
        assert.equal(err.name, 'QueueFullError');
        assert.equal((err as Error & { retryAfterMs: number }).retryAfterMs, 4000);
        return true;
      });
      raw.handle = trailersOnly(12, 'not here');
      await assert.rejects(
        client.live(),
        new RegExp(`^Error: ${raw.url}: ServerLive answered UNIMPLEMENTED: not here$`),
      );
      raw.handle = trailersOnly(4, 'too slow');
      await assert.rejects(client.live(), /ServerLive within 60000 ms \(DEADLINE_EXCEEDED\)/);
      // The same status after a normal header block, in the trailers.
      raw.handle = (stream) => {
        answer(stream, Buffer.alloc(0), { 'grpc-status': '14', 'grpc-message': 'draining' });
      };
      await assert.rejects(client.ready(), /ServerReady answered UNAVAILABLE: draining/);
    } finally {
      await client.close();
    }
  });

  test('the deadline cancels the stream (RST_STREAM CANCEL), and the session goes on', async () => {
    raw.handle = () => undefined; // never answers
    const client = new KServeGrpcClient({ url: raw.url, timeoutMs: 200 });
    try {
      const closedBefore = raw.closed.length;
      await assert.rejects(
        client.live(),
        new RegExp(`^Error: ${raw.url}: no answer to ServerLive within 200 ms`),
      );
      await until(() => raw.closed.length > closedBefore, 'the server sees the stream close');
      assert.equal(raw.closed.at(-1), h2.NGHTTP2_CANCEL);
      assert.equal(raw.seen.at(-1)?.headers['grpc-timeout'], '200m');
      raw.handle = (stream) => {
        answer(stream, metadataFrame());
      };
      const sessions = raw.sessions;
      assert.equal((await client.serverMetadata()).name, 'raw');
      assert.equal(raw.sessions, sessions, 'the same session');
    } finally {
      await client.close();
    }
  });

  test('GOAWAY: the call answered finishes, the next opens a new session; a refused stream is sent again', async () => {
    const client = new KServeGrpcClient({ url: raw.url });
    try {
      raw.handle = (stream) => {
        answer(stream, metadataFrame());
        stream.session?.goaway(h2.NGHTTP2_NO_ERROR, stream.id ?? 0);
      };
      const sessions = raw.sessions;
      assert.equal((await client.serverMetadata()).name, 'raw');
      raw.handle = (stream) => {
        answer(stream, metadataFrame());
      };
      assert.equal((await client.serverMetadata()).name, 'raw');
      assert.equal(raw.sessions, sessions + 2, 'one session for the first call, a new one after GOAWAY');

      // Two calls at once, GOAWAY naming the first as the last stream: the first is answered, the second (never
      // processed, so refused) goes again on a new session.
      const at = raw.seen.length;
      raw.handle = (stream, _h, _b, n) => {
        if (n === at + 1) stream.session?.goaway(h2.NGHTTP2_NO_ERROR, stream.id ?? 0);
        if (n === at + 2) return;
        answer(stream, metadataFrame());
      };
      const both = await Promise.all([client.serverMetadata(), client.serverMetadata()]);
      assert.deepEqual(
        both.map((m) => m.name),
        ['raw', 'raw'],
      );
      assert.equal(raw.seen.length, at + 3);
      assert.equal(raw.sessions, sessions + 3);

      // REFUSED_STREAM: the server did nothing with it, so the client sends it once more.
      const seen = raw.seen.length;
      raw.handle = (stream, _h, _b, n) => {
        if (n === seen + 1) stream.close(h2.NGHTTP2_REFUSED_STREAM);
        else answer(stream, metadataFrame());
      };
      assert.equal((await client.serverMetadata()).name, 'raw');
      assert.equal(raw.seen.length, seen + 2);
    } finally {
      await client.close();
    }
  });

  test("answers still arrive while a large request waits in the client's buffers (session memory)", async () => {
    // The ingest service's load: uploads of several MiB in flight while other calls are answered. Node's
    // default cap on a session's memory (10 MB) would reset the answered stream with ENHANCE_YOUR_CALM.
    raw.stall = (headers) => headers[':path'] === '/inference.GRPCInferenceService/ModelInfer';
    raw.handle = (stream) => {
      answer(stream, metadataFrame());
    };
    const client = new KServeGrpcClient({ url: raw.url });
    const controller = new AbortController();
    try {
      const rows = 1 << 20;
      const [, b, ids] = affineTensors();
      const upload = client.infer('affine', {
        signal: controller.signal,
        inputs: [
          { name: 'X', datatype: 'FP32', shape: [rows, 4], data: new Float32Array(rows * 4) },
          b!,
          ids!,
        ],
      });
      for (let k = 0; k < 3; k++) assert.equal((await client.serverMetadata()).name, 'raw');
      controller.abort(new Error('done'));
      await assert.rejects(upload, /done/);
    } finally {
      raw.stall = () => false;
      await client.close();
    }
  });

  test('a session torn down mid-call: the call fails naming the address; the next reconnects', async () => {
    const client = new KServeGrpcClient({ url: raw.url });
    try {
      raw.handle = (stream) => {
        stream.session?.destroy();
      };
      await assert.rejects(client.live(), new RegExp(`^Error: ${raw.url}: ServerLive got no answer`));
      raw.handle = (stream) => {
        answer(stream, metadataFrame());
      };
      assert.equal((await client.serverMetadata()).version, '9');
    } finally {
      await client.close();
    }
  });

  test('keep-alive: a connection gone silent fails its calls at the unanswered ping; the next reconnects', async () => {
    // A TCP relay in front of the raw server that can go silent, as a peer whose host vanished without a FIN.
    const upstreamPort = Number(new URL(raw.url).port);
    const relays: { frozen: boolean; sockets: Socket[] }[] = [];
    const relay = createNetServer((down) => {
      const up = netConnect(upstreamPort, '127.0.0.1');
      const link = { frozen: false, sockets: [down, up] };
      relays.push(link);
      down.on('data', (d: Buffer) => {
        if (!link.frozen) up.write(d);
      });
      up.on('data', (d: Buffer) => {
        if (!link.frozen) down.write(d);
      });
      for (const [a, b] of [
        [down, up],
        [up, down],
      ] as const) {
        a.on('error', () => undefined);
        a.on('close', () => b.destroy());
      }
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const url = `grpc://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    raw.handle = (stream) => {
      answer(stream, metadataFrame());
    };
    const client = new KServeGrpcClient({ url, keepAliveMs: 150, timeoutMs: 30_000 });
    try {
      assert.equal((await client.serverMetadata()).name, 'raw');
      for (const link of relays) link.frozen = true;
      await assert.rejects(
        client.live(),
        new RegExp(`^Error: ${url}: ServerLive got no answer: no answer to a keep-alive ping within 150 ms`),
      );
      assert.equal((await client.serverMetadata()).name, 'raw');
      assert.equal(relays.length, 2, 'a new connection');
    } finally {
      await client.close();
      for (const link of relays) for (const socket of link.sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });

  test('close(): a call open finishes, then the session closes; later calls are refused', async () => {
    const client = new KServeGrpcClient({ url: raw.url });
    let respond = (): void => undefined;
    raw.handle = (stream) => {
      respond = () => {
        answer(stream, metadataFrame());
      };
    };
    const seen = raw.seen.length;
    const open = client.serverMetadata();
    await until(() => raw.seen.length > seen, 'the call reaches the server');
    const closing = client.close();
    respond();
    assert.equal((await open).name, 'raw');
    await closing;
    await assert.rejects(client.live(), /ServerLive called on a closed KServe gRPC client/);
  });
});
