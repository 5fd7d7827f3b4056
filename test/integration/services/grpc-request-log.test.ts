// The gRPC endpoint's request log (services/models/grpc-request-log.ts), read from the pino stream of a real gRPC
// model server on a real port (the affine ONNX graph), called by pitlane's own gRPC client: one line per call with
// the request id from the call's metadata, probes at debug, a refusal with its status and details.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KServeGrpcClient } from '../../../dist/inference/kserve/grpc-client.js';
import { AffineEngine, until } from '../../../dist/inference/test-support.js';
import { createServiceLogger } from '../../../dist/services/http/request-log.js';
import { captureLog } from '../../../dist/services/http/test-support.js';
import { startModelGrpcServer, type ModelGrpcServer } from '../../../dist/services/models/grpc/server.js';

type Line = Record<string, unknown>;

let dir: string;
let engine: AffineEngine;
let server: ModelGrpcServer;
const log = captureLog();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pitlane-grpc-log-'));
  engine = await AffineEngine.load(dir);
  server = await startModelGrpcServer(
    {
      engine,
      version: 'test',
      logger: createServiceLogger('models', { level: 'debug', format: 'json', destination: log.destination }),
    },
    '127.0.0.1',
    0,
  );
});
after(async () => {
  await server.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = (id: string): KServeGrpcClient =>
  new KServeGrpcClient({ url: `grpc://127.0.0.1:${server.port}`, headers: { 'x-request-id': id } });

async function lineOf(reqId: string): Promise<Line> {
  await until(() => log.json().some((l) => l.reqId === reqId), `the log line of ${reqId}`);
  const mine = log.json().filter((l) => l.reqId === reqId);
  assert.equal(mine.length, 1, JSON.stringify(mine));
  return mine[0] as Line;
}

test('one line per gRPC call: request id from the metadata, RPC path, status code and name, duration', async () => {
  const c = client('grpc-meta');
  const metadata = await c.modelMetadata('affine');
  assert.equal(metadata.name, 'affine');
  const line = await lineOf('grpc-meta');
  assert.equal(line.level, 'info');
  assert.equal(line.name, 'models');
  assert.equal(line.method, 'gRPC');
  assert.equal(line.route, '/inference.GRPCInferenceService/ModelMetadata');
  assert.equal(line.status, 0);
  assert.equal(line.code, 'OK');
  assert.equal(typeof line.ms, 'number');
  assert.equal(line.error, undefined);
  await c.close();
});

test('probes at debug; a refusal at info with its status and details', async () => {
  const live = client('grpc-live');
  assert.equal(await live.live(), true);
  assert.equal((await lineOf('grpc-live')).level, 'debug');
  await live.close();

  const missing = client('grpc-missing');
  await assert.rejects(missing.modelMetadata('nope'));
  const line = await lineOf('grpc-missing');
  assert.equal(line.level, 'info');
  assert.equal(line.code, 'NOT_FOUND');
  assert.equal(line.status, 5);
  assert.match(String(line.error), /nope/);
  await missing.close();
});
