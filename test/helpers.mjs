// Shared helpers of the integration tests: run the real CLIs as child processes.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PITLANE = join(ROOT, 'bin', 'pitlane.js');
export const REFERENCE = join(ROOT, 'baselines', 'python', 'pitlane_ref.py');
export const PYTHON = process.env.PITLANE_PYTHON ?? 'python3';

/** Runs a command; resolves with exit code, stdout and stderr. `input` is written to stdin. */
export function run(cmd, args, { input = '', cwd = ROOT, signal } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
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
