/**
 * Helpers for the model server's tests (and the KServe client's, which talk to it): the server on a real port of
 * 127.0.0.1 with the affine engine (inference/test-support.ts) behind it.
 */
import { AffineEngine } from '../../inference/test-support.js';
import { buildModelServerApp } from './app.js';

export interface Served {
  readonly url: string;
  readonly engine: AffineEngine;
  close(): Promise<void>;
}

/** Serves the affine engine (its model written into `dir`) on a port chosen by the system. */
export async function serve(
  dir: string,
  options: {
    queueCapacity?: number;
    bodyLimitBytes?: number;
    inFlightLimitBytes?: number;
    statistics?: boolean;
  } = {},
): Promise<Served> {
  const engine = await AffineEngine.load(dir, options.queueCapacity);
  const app = buildModelServerApp({
    engine,
    version: 'test',
    models: () => [{ name: 'affine', versions: ['1'] }],
    ...(options.bodyLimitBytes !== undefined && { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.inFlightLimitBytes !== undefined && { inFlightLimitBytes: options.inFlightLimitBytes }),
    ...(options.statistics === true && { statistics: () => engine.statistics() }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    engine,
    close: async () => {
      // Test teardown: also drop connections a client opened and never used (after an aborted fetch, undici
      // opens one), which Node does not count as idle and would keep until its headers timeout.
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
      await engine.close();
    },
  };
}
