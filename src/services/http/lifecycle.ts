/**
 * The lifecycle every pitlane service shares: listening with clear errors, a log line per event (through the
 * service's logger, request-log.ts), and a graceful stop on SIGTERM or SIGINT (stop accepting, let requests in
 * flight finish, then release models and files). The CLI turns the signal into an exit code (cli/exit-codes.ts); nothing here decides one.
 */
import type { FastifyInstance } from 'fastify';
import { UsageError } from '../../core/errors.js';

/** Listens; a taken port or an address that cannot be bound is a usage error naming the flag. */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} is already in use (--port)`);
    if (code === 'EADDRNOTAVAIL') throw new UsageError(`cannot listen on ${host} (--host)`);
    throw err;
  }
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}

/** What a service says once it is ready: where it listens, its models (when it serves some), how long start-up
 * took, and its routes for the log line. */
export interface ReadyNote {
  json: boolean | undefined;
  url: string;
  /** The gRPC endpoint (`grpc://host:port`), for a service that has one. */
  grpcUrl?: string;
  models?: readonly string[];
  readyMs: number;
  routes: string;
}

/**
 * Says a service is ready: with --json, the one line on stdout that callers wait for
 * (`{"status":"ready","url":…,"grpc_url":…,"models":[…],"ready_ms":…}`, grpc_url and models only for a service that
 * has them); and the
 * log line `ready in N ms: <routes>`.
 */
export function announceReady(log: (line: string) => void, note: ReadyNote): void {
  if (note.json === true) {
    const { url, grpcUrl, models, readyMs } = note;
    process.stdout.write(
      JSON.stringify({
        status: 'ready',
        url,
        ...(grpcUrl !== undefined && { grpc_url: grpcUrl }),
        ...(models !== undefined && { models }),
        ready_ms: readyMs,
      }) + '\n',
    );
  }
  log(`ready in ${note.readyMs} ms: ${note.routes}`);
}

/**
 * Resolves with the signal once SIGTERM or SIGINT arrives and `close` has run: the server stops accepting,
 * requests in flight finish, then models and files are released.
 */
export function untilSignal(
  log: (line: string) => void,
  close: () => Promise<void>,
): Promise<'SIGTERM' | 'SIGINT'> {
  return new Promise((done) => {
    let stopping = false;
    const stop = (signal: 'SIGTERM' | 'SIGINT'): void => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: closing`);
      void close().finally(() => done(signal));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/**
 * Closes a server: stops accepting, lets requests in flight finish for up to `drainMs`, then closes every
 * connection still open (a connection a client opened and never used does not count as idle to Node, and would
 * otherwise hold the close until its headers timeout).
 */
export async function closeServer(app: FastifyInstance, drainMs = 5000): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), drainMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
