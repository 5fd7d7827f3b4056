/**
 * The embed service as the integration tests start it: the real app on a real port (port 0) with real models
 * loaded, and a JSON POST that keeps the status, the parsed answer and the headers.
 */
import { EmbeddingService } from '../../../dist/inference/text/embedding-service.js';
import type { ModelSpec } from '../../../dist/inference/tensor/model-repository.js';
import { listen } from '../../../dist/services/http/lifecycle.js';
import {
  buildEmbedApp,
  type EmbedAppOptions,
  type EmbedLimits,
  type EmbedState,
} from '../../../dist/services/embed/app.js';
import { EmbedMetrics } from '../../../dist/services/embed/metrics.js';

export type Json = Record<string, unknown>;

export interface Served {
  readonly url: string;
  readonly state: EmbedState;
  readonly metrics: EmbedMetrics;
  close(): Promise<void>;
}

/** Serves `spec` (the default model) and `more` models, loaded, warm and ready. */
export async function serve(
  spec: ModelSpec,
  bodyLimitBytes = 1 << 20,
  limits: Partial<EmbedLimits> = {},
  modelRoot?: string,
  more: readonly ModelSpec[] = [],
  extra: Pick<EmbedAppOptions, 'autoTruncate'> = {},
): Promise<Served> {
  const metrics = new EmbedMetrics();
  const state: EmbedState = { services: new Map(), ready: false };
  const app = buildEmbedApp(state, {
    defaultModel: spec.id,
    bodyLimitBytes,
    limits,
    ...(modelRoot !== undefined && { modelRoot }),
    ...extra,
    version: 'test',
    metrics,
  });
  metrics.watch(state.services);
  const port = await listen(app, '127.0.0.1', 0);
  for (const s of [spec, ...more]) {
    const service = await EmbeddingService.load(s, {
      tokenizerThreads: 1,
      inlineBelowChars: 0,
      observer: metrics.observerFor(s.id),
    });
    state.services.set(s.id, service);
  }
  state.ready = true;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    metrics,
    close: async () => {
      await app.close();
      await Promise.all([...state.services.values()].map((s) => s.close()));
    },
  };
}

export async function post(
  url: string,
  body: unknown,
  contentType = 'application/json',
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? null : JSON.parse(text), headers: res.headers };
}
