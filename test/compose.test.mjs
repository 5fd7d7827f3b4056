// The container recipe, as far as it can be tested without a container engine (there is none here): compose.yaml
// parses and has the seed's topology with healthchecks and depends_on conditions; the Dockerfile copies paths that
// exist and runs npm scripts that exist; and every service but OpenSearch is started on this machine with its
// compose command (ports remapped to free ones, compose hostnames to 127.0.0.1, /data to a temp folder) until its
// own compose healthcheck passes. One substitution, said where it is made: OpenSearch cannot run here, so the
// ingest service indexes into SQLite. The services call the model server over gRPC, as compose has them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { ROOT, run, tempDir } from './helpers.mjs';

// Compose applies YAML merge keys (`<<: *pitlane`), as yaml does with merge: true.
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true });
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const PITLANE_SERVICES = ['models', 'ingest', 'ingest-python', 'embed'];

/** Dockerfile instructions, continuation lines joined, comments dropped: [{op, args, stage}]. */
function instructions(text) {
  const out = [];
  let stage = null;
  const joined = text.replace(/\\\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') stage = args;
    out.push({ op: op.toUpperCase(), args, stage });
  }
  return out;
}

describe('Dockerfile', () => {
  const ins = instructions(dockerfile);
  const froms = ins.filter((i) => i.op === 'FROM').map((i) => i.args);

  test('multi-stage: a build stage, then node:20-bookworm-slim with a non-root user, ports, healthcheck, entrypoint', () => {
    assert.equal(froms.length, 2, froms.join(' | '));
    assert.match(froms[0], /^node:20-bookworm AS build$/);
    assert.equal(froms[1], 'node:20-bookworm-slim');
    const runtime = ins.filter((i) => i.stage === froms[1]);
    const user = runtime.filter((i) => i.op === 'USER').map((i) => i.args);
    assert.equal(user.length, 1);
    assert.notEqual(user[0], 'root');
    assert.ok(runtime.some((i) => i.op === 'RUN' && i.args.includes(`useradd`) && i.args.includes(user[0])));
    assert.deepEqual(runtime.find((i) => i.op === 'EXPOSE')?.args.split(/\s+/), ['8000', '8001', '8080']);
    assert.ok(runtime.some((i) => i.op === 'HEALTHCHECK' && i.args.includes('CMD')));
    assert.deepEqual(JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT').args), ['node', 'bin/pitlane.js']);
    // Debian's Python and the packages of the Python ingest baseline and its gRPC client.
    const apt = runtime.find((i) => i.op === 'RUN' && i.args.includes('apt-get install')).args;
    for (const p of ['python3', 'python3-fastapi', 'python3-uvicorn', 'python3-numpy', 'python3-grpcio'])
      assert.ok(apt.split(/\s+/).includes(p), p);
    // Models are built at image build.
    assert.ok(
      ins.some((i) => i.stage === froms[0] && i.op === 'RUN' && i.args.includes('npm run build:models')),
    );
  });

  test('every path it COPYs from the checkout exists and is not in .dockerignore; every npm script it runs exists', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const copies = ins.filter((i) => i.op === 'COPY' && !i.args.includes('--from='));
    assert.ok(copies.length > 0);
    for (const c of copies) {
      const parts = c.args.split(/\s+/).filter((a) => !a.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        if (src === '.') continue;
        assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: no such path`);
        assert.ok(!ignored.includes(src), `COPY ${src}: excluded by .dockerignore`);
      }
    }
    // What `npm run build` and the models build read must reach the build context.
    for (const needed of ['src', 'scripts', 'test/integration', 'tsconfig.json', 'models.yaml', 'baselines'])
      assert.ok(!ignored.includes(needed) && existsSync(join(ROOT, needed)), needed);
    const scripts = [...dockerfile.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    assert.ok(scripts.includes('build') && scripts.includes('build:models'));
    for (const s of scripts) assert.ok(pkg.scripts[s] !== undefined, `npm run ${s}: no such script`);
    assert.ok(
      /npm ci\b/.test(dockerfile) && existsSync(join(ROOT, 'package-lock.json')),
      'npm ci needs the lockfile',
    );
    // The stage copied from exists.
    for (const c of ins.filter((i) => i.op === 'COPY' && i.args.includes('--from='))) {
      const from = /--from=(\S+)/.exec(c.args)[1];
      assert.ok(
        froms.some((f) => f.endsWith(` AS ${from}`)),
        `COPY --from=${from}: no such stage`,
      );
    }
  });
});

describe('compose.yaml', () => {
  test("the seed's topology: services, ports, healthchecks, depends_on conditions, OpenSearch single-node", () => {
    const s = compose.services;
    assert.deepEqual(Object.keys(s).sort(), ['embed', 'ingest', 'ingest-python', 'models', 'opensearch']);
    for (const name of PITLANE_SERVICES) {
      assert.equal(s[name].build, '.', `${name} builds the Dockerfile`);
      assert.ok(Array.isArray(s[name].healthcheck?.test), `${name} healthcheck`);
    }
    assert.deepEqual(s.models.ports, ['8000:8000', '8001:8001']);
    assert.deepEqual(s.ingest.depends_on, {
      models: { condition: 'service_healthy' },
      opensearch: { condition: 'service_healthy' },
    });
    assert.deepEqual(s['ingest-python'].depends_on, { models: { condition: 'service_healthy' } });
    assert.ok(s.ingest.command.join(' ').includes('--inference grpc://models:8001'));
    assert.ok(s['ingest-python'].command.join(' ').includes('--inference grpc://models:8001'));
    assert.deepEqual(s['ingest-python'].entrypoint, [
      '/usr/bin/python3',
      'baselines/python/ingest/server.py',
    ]);
    assert.ok(existsSync(join(ROOT, s['ingest-python'].entrypoint[1])));
    const os = s.opensearch;
    assert.match(os.image, /^opensearchproject\/opensearch:\d+\.\d+\.\d+$/);
    assert.equal(os.environment['discovery.type'], 'single-node');
    assert.equal(os.environment.DISABLE_SECURITY_PLUGIN, 'true');
    assert.ok(os.healthcheck.test.join(' ').includes('_cluster/health'));
  });
});

/** A free TCP port on 127.0.0.1 (closed again: a short race with other processes, acceptable in a test). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const started = [];
after(async () => {
  for (const p of started.reverse()) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  }
});

/** Starts argv in ROOT (the image's WORKDIR); resolves with the process and its output so far. */
function start(argv) {
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  const out = { text: '' };
  child.stdout.on('data', (b) => (out.text += b));
  child.stderr.on('data', (b) => (out.text += b));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, exited };
}

/** Runs the service's own compose healthcheck (CMD form) against `url` until it passes; false when the process exits. */
async function healthy(service, url, proc, timeoutMs = 180_000) {
  const [kind, ...cmd] = compose.services[service].healthcheck.test;
  assert.equal(kind, 'CMD');
  const argv = cmd.map((a) => (a === 'node' ? process.execPath : a));
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const r = await run(argv[0], argv.slice(1), { env: { ...process.env, PITLANE_HEALTH_URL: url } });
    if (r.code === 0) return true;
    await new Promise((res) => setTimeout(res, 500));
  }
  return false;
}

/**
 * The argv of a compose service on this machine: its entrypoint (the image's: node bin/pitlane.js) and command,
 * with ports remapped, hosts on 127.0.0.1, compose hostnames to 127.0.0.1 and /data to `data`.
 */
function localArgv(service, ports, data) {
  const s = compose.services[service];
  const entry = (s.entrypoint ?? ['node', 'bin/pitlane.js']).map((a) =>
    a === 'node' ? process.execPath : a,
  );
  const args = s.command.map((a) =>
    String(a)
      .replace(/^0\.0\.0\.0$/, '127.0.0.1')
      .replace(/^\/data\//, `${data}/`)
      .replace(/^(grpc|http):\/\/models:(\d+)$/, (_, scheme, port) => `${scheme}://127.0.0.1:${ports[port]}`),
  );
  // --port N and --grpc-port N: a free port for the compose one.
  return [
    ...entry,
    ...args.map((a, i) => (/^--(grpc-)?port$/.test(args[i - 1] ?? '') ? String(ports[a]) : a)),
  ];
}

describe('every service but OpenSearch runs with its compose command and passes its own healthcheck', () => {
  const data = tempDir('pl-compose-');
  const ports = {};

  test('models: serve models on HTTP and gRPC', async () => {
    for (const p of ['8000', '8001', '8080', '8090', '8091']) ports[p] = await freePort();
    const proc = start(localArgv('models', ports, data));
    assert.ok(
      await healthy('models', `http://127.0.0.1:${ports['8000']}/v2/health/ready`, proc),
      `models never healthy:\n${proc.out.text}`,
    );
    assert.match(proc.out.text, new RegExp(`grpc://127\\.0\\.0\\.1:${ports['8001']}`), 'listening for gRPC');
  });

  /** Starts a service that calls the model server (over gRPC, as compose has it) and waits for its health. */
  async function startInferenceClient(service, port, substitute = (a) => a) {
    const argv = substitute(localArgv(service, ports, data));
    assert.ok(
      argv.some((a) => a.startsWith('grpc://127.0.0.1:')),
      `${service} calls the model server over gRPC`,
    );
    const proc = start(argv);
    assert.ok(
      await healthy(service, `http://127.0.0.1:${ports[port]}/health`, proc),
      `${service} never healthy:\n${proc.out.text}`,
    );
  }

  test('ingest: serve ingest calling the model server (SQLite instead of OpenSearch here)', async () => {
    // OpenSearch cannot run here: the index flag is swapped for a SQLite file.
    const help = await run(process.execPath, [join(ROOT, 'bin', 'pitlane.js'), 'serve', 'ingest', '--help']);
    assert.match(help.stdout, /--opensearch-url <url>/, 'the flag the compose command gives exists');
    const withSqlite = (argv) => {
      const i = argv.indexOf('--opensearch-url');
      assert.ok(i > 0, 'the compose command indexes into OpenSearch');
      return [...argv.slice(0, i), '--db', join(data, 'ingest.db'), ...argv.slice(i + 2)];
    };
    await startInferenceClient('ingest', '8090', withSqlite);
  });

  test('ingest-python: the Python baseline calling the model server', async () => {
    await startInferenceClient('ingest-python', '8091');
  });

  test('embed: serve embed', async () => {
    const proc = start(localArgv('embed', ports, data));
    assert.ok(await healthy('embed', `http://127.0.0.1:${ports['8080']}/health`, proc), proc.out.text);
  });
});
