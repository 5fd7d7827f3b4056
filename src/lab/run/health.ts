/**
 * Health checks and ports of a contestant: one health request and its outcome in words, polling a health URL
 * until it answers (or the timeout passes, or the process exits), and picking or checking a port.
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { toError } from '../../core/errors.js';
import type { ManagedGroup } from './process-group.js';

/** Upper bound of one health request, so a server that accepts but never answers is retried. */
const HEALTH_ATTEMPT_MS = 2_000;

const NEVER = new Promise<never>(() => undefined);

/** One health request's outcome: healthy (with the time the answer came), or why not. */
type HealthAttempt =
  | { readonly ok: true; readonly atNs: bigint }
  | { readonly ok: false; readonly why: string; readonly timedOut: boolean };

export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

async function probeHealth(url: string, expected: number, timeoutMs: number): Promise<HealthAttempt> {
  const noAnswer = { ok: false, why: `no answer within ${seconds(timeoutMs)}`, timedOut: true } as const;
  try {
    const res = await request(url, {
      method: 'GET',
      reset: true,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const atNs = process.hrtime.bigint();
    await res.body.dump();
    return res.statusCode === expected
      ? { ok: true, atNs }
      : { ok: false, why: `status ${res.statusCode} (expected ${expected})`, timedOut: false };
  } catch (e) {
    const err = toError(e) as NodeJS.ErrnoException;
    switch (err.code) {
      case 'ECONNREFUSED':
        return { ok: false, why: 'connection refused', timedOut: false };
      case 'ECONNRESET':
      case 'UND_ERR_SOCKET':
        return { ok: false, why: 'connection closed without an answer', timedOut: false };
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
      case 'UND_ERR_CONNECT_TIMEOUT':
        return noAnswer;
      default:
        if (err.name === 'TimeoutError' || err.name === 'AbortError') return noAnswer;
        return { ok: false, why: err.message, timedOut: false };
    }
  }
}

/** A port nothing listens on now (the kernel's choice for port 0, on every address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Whether binding the port on every address fails because something already uses it. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      // EACCES (a privileged port) is not "in use": the contestant may be allowed to bind it.
      resolve(e.code === 'EADDRINUSE');
    });
    server.listen({ port }, () => {
      server.close(() => {
        resolve(false);
      });
    });
  });
}

/**
 * Polls a health URL until it answers `expected`, the timeout passes, or the group's main process exits (checked
 * between and during attempts).
 */
export async function pollHealth(
  url: string,
  expected: number,
  timeoutMs: number,
  intervalMs: number,
  group: ManagedGroup | null,
): Promise<{ ok: true; atNs: bigint } | { ok: false; exited: boolean; why: string }> {
  const deadline = performance.now() + timeoutMs;
  const exited = group?.exited.then(() => 'exited' as const) ?? NEVER;
  let why = 'no attempt made';
  for (;;) {
    if (group !== null && group.exit !== null) return { ok: false, exited: true, why };
    const left = deadline - performance.now();
    if (left <= 0) return { ok: false, exited: false, why };
    // Whole milliseconds (timers want integers), at least a few, at most one attempt's bound.
    const attemptMs = Math.min(Math.max(Math.ceil(left), 10), HEALTH_ATTEMPT_MS);
    const attempt = await Promise.race([probeHealth(url, expected, attemptMs), exited]);
    if (attempt === 'exited') return { ok: false, exited: true, why };
    if (attempt.ok) return attempt;
    // An attempt cut short by the deadline says less than the full answer before it ("status 503").
    const cutShort = attempt.timedOut && attemptMs < HEALTH_ATTEMPT_MS && why !== 'no attempt made';
    if (!cutShort) why = attempt.why;
    const wait = Math.min(intervalMs, deadline - performance.now());
    if (wait > 0) await Promise.race([sleep(wait), exited]);
  }
}
