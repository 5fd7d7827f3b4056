// What the memory benches share: a `pitlane serve KIND --port 0 --json` process started from this checkout, its
// URL once ready, and its RSS read from /proc (with the peak reset where the kernel allows it), also as the peak
// while some requests run.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const PITLANE = new URL('../bin/pitlane.js', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;

/** Starts `pitlane serve kind --port 0 --json --log-level warn ...args`; resolves with the child and its ready line (url, ...). */
export async function startServed(kind, args) {
  // --log-level warn: no line per request on this terminal (bench/request-logs.mjs measures what one costs).
  const child = spawn(
    process.execPath,
    [PITLANE, 'serve', kind, '--port', '0', '--json', '--log-level', 'warn', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ready = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b) => {
      out += b;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`serve ${kind} exited (${code}) before ready`)));
  });
  return { child, pid: child.pid, ready, url: ready.url };
}

/** A memory field of /proc/PID/status (VmRSS, VmHWM) in MiB; NaN once the process is gone. */
export function statusMiB(pid, field) {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** VmRSS of a process, in MiB. */
export const rssMiB = (pid) => statusMiB(pid, 'VmRSS');

/** Resets the process's peak RSS (VmHWM) where allowed; false where it is not. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work()` and measures the process's RSS meanwhile: sampled every 10 ms, and VmHWM (reset first) where the
 * kernel allows. Resolves with work's result, the RSS before and the peak (MiB), and how long work took (ms).
 */
export async function peakRssDuring(pid, work) {
  const before = rssMiB(pid);
  const hwm = resetPeak(pid);
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, rssMiB(pid));
      await sleep(10);
    }
  })();
  const t0 = performance.now();
  let result;
  try {
    result = await work();
  } finally {
    sampling = false;
  }
  const ms = performance.now() - t0;
  await sampler;
  if (hwm) peak = Math.max(peak, statusMiB(pid, 'VmHWM'));
  return { result, before, peak, ms };
}
