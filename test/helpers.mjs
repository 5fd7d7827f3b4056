// Shared helpers of the integration tests: run the real CLIs as child processes, check what they list, and make
// temporary folders that go away after their tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { after } from 'node:test';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PITLANE = join(ROOT, 'bin', 'pitlane.js');
export const REFERENCE = join(ROOT, 'baselines', 'python', 'pitlane_ref.py');
export const PYTHON = process.env.PITLANE_PYTHON ?? 'python3';

/**
 * Runs a command; resolves with exit code, stdout and stderr. `input` (text or bytes) is written to stdin; `env`
 * is added to this process's environment.
 */
export function run(cmd, args, { input = '', cwd = ROOT, signal, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(env !== undefined ? { env: { ...process.env, ...env } } : {}),
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, sig) =>
      resolve({
        code,
        signal: sig,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    signal?.addEventListener('abort', () => child.kill('SIGKILL'));
  });
}

export const pitlane = (args, opts) => run(process.execPath, [PITLANE, ...args], opts);
export const reference = (args, opts) => run(PYTHON, [REFERENCE, ...args], opts);

/**
 * Runs `pitlane <args>` (a --help, a listing), asserts that it exits 0 and that its stdout includes each of `texts`;
 * resolves with the result for further checks.
 */
export async function pitlaneListing(args, texts) {
  const r = await pitlane(args);
  assert.equal(r.code, 0, r.stderr);
  for (const text of texts) assert.ok(r.stdout.includes(text), `${text} in:\n${r.stdout}`);
  return r;
}

/**
 * A temporary folder, made now and removed after the tests of the enclosing `describe` (or of the file, when
 * called at its top level); `beforeRemoving` (e.g. stopping the services that use the folder) runs first.
 */
export function tempDir(prefix, beforeRemoving = async () => {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(async () => {
    await beforeRemoving();
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Chromium flags for this closed network (see the env notes): headless, no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Opens a local HTML file in Debian's Chromium (playwright-core) and collects what a test checks: console and
 * page errors, requests to anything but the file itself, the visible text, and the number of SVG charts.
 * Fails, never skips, when Chromium is missing.
 */
export async function openInBrowser(file, { screenshot } = {}) {
  const { existsSync } = await import('node:fs');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { pathToFileURL } = await import('node:url');
  if (!existsSync('/usr/bin/chromium')) throw new Error('Chromium is missing: apt-get install -y chromium');
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'pl-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const page = await context.newPage();
  const errors = [];
  const externalRequests = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (r.url() !== url && !r.url().startsWith('data:')) externalRequests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  const text = await page.innerText('body');
  const svgCount = await page.locator('svg').count();
  if (screenshot !== undefined) await page.screenshot({ path: screenshot, fullPage: true });
  return { errors, externalRequests, text, svgCount, page, close: () => context.close() };
}

/**
 * Starts `pitlane serve <kind> --port 0 --json ...args` as a real process; `ready` resolves with its JSON ready
 * line, `exited` with {code, signal, stderr}.
 */
export function startService(kind, args) {
  const child = spawn(process.execPath, [PITLANE, 'serve', kind, '--port', '0', '--json', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  const ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b) => {
      out += b;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    void exited.then((r) => reject(new Error(`the server exited before ready: ${JSON.stringify(r)}`)));
  });
  const stop = async () => {
    child.kill('SIGTERM');
    return exited;
  };
  return { child, ready, exited, stop };
}

/** POST a JSON body; resolves with the status and the parsed JSON answer. */
export async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Multipart upload of [name, bytes] files plus string fields; resolves with the status and the parsed JSON answer. */
export async function upload(url, files, fields = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  files.forEach(([name, bytes], i) => form.append(`file${i}`, new Blob([bytes]), name));
  const res = await fetch(url, { method: 'POST', body: form });
  return { status: res.status, json: await res.json() };
}
