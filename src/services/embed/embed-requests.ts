/**
 * What the embed API reads from a request body, in the words of the API it came to: TEI answers a bad field
 * with 422, OpenAI with 400, both naming the field (`param`). The model asked for (or the default), the inputs
 * (texts or token ids, at most the per-request limit, refused before their items are looked at) and the boolean
 * switches.
 */
import type { EmbeddingService } from '../../inference/text/embedding-service.js';
import { HttpProblem } from '../http/problem.js';
import type { RequestLimit } from '../http/request-limits.js';

/** The refusal of a request with more inputs than a request may hold (TEI's `batch_size` failure). */
export class BatchSizeProblem extends HttpProblem {}

/** The API a request came to: TEI's routes, or OpenAI's `/v1/...`. */
export type Api = 'tei' | 'openai';

export function validationStatus(api: Api): number {
  // TEI answers bad requests with 422; OpenAI with 400.
  return api === 'tei' ? 422 : 400;
}

export function objectBody(body: unknown, api: Api): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpProblem(validationStatus(api), 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

export function pickService(
  state: { readonly services: ReadonlyMap<string, EmbeddingService>; readonly ready: boolean },
  model: unknown,
  fallback: string,
  api: Api,
): EmbeddingService {
  if (!state.ready)
    throw new HttpProblem(503, 'the models are still loading; retry when /health answers 200');
  if (model !== undefined && typeof model !== 'string') {
    throw new HttpProblem(validationStatus(api), 'model must be a string', 'model');
  }
  const id = model ?? fallback;
  const service = state.services.get(id);
  if (service === undefined) {
    throw new HttpProblem(
      404,
      `model "${id}" is not served here; models: ${[...state.services.keys()].join(', ')}`,
      'model',
    );
  }
  return service;
}

/** A request's inputs: texts, or sequences of the model's token ids (what LangChain and TEI clients may send). */
export type EmbedInputs = { readonly texts: string[] } | { readonly ids: Int32Array[] };

/**
 * The inputs: a string, a non-empty array of non-empty strings, an array of token ids (one sequence) or an array of
 * such arrays (several). An array longer than `itemLimit` is refused before its items are looked at, in TEI's words
 * ("batch size N > maximum allowed batch size M"), which clients parse to split their batches. Token ids are taken
 * as the model's own, specials included, as TEI and vLLM take them; the caller checks them against the vocabulary.
 */
export function readInputs(value: unknown, field: string, api: Api, itemLimit: RequestLimit): EmbedInputs {
  const status = validationStatus(api);
  if (value === undefined) throw new HttpProblem(status, `${field} is required`, field);
  if (typeof value === 'string') {
    if (value.length === 0) throw new HttpProblem(status, `${field} is an empty string`, field);
    return { texts: [value] };
  }
  if (!Array.isArray(value)) {
    throw new HttpProblem(
      status,
      `${field} must be a string, an array of strings or token ids, got ${kindOf(value)}`,
      field,
    );
  }
  if (value.length === 0) throw new HttpProblem(status, `${field} is an empty array`, field);
  if (typeof value[0] === 'number') return { ids: [tokenIds(value, field, status)] };
  if (value.length > itemLimit.value) {
    throw new BatchSizeProblem(
      status,
      `batch size ${value.length} > maximum allowed batch size ${itemLimit.value}: send at most ` +
        `${itemLimit.value} ${field} per request (${itemLimit.flag})`,
      field,
    );
  }
  if (Array.isArray(value[0])) {
    return {
      ids: value.map((v: unknown, i) => {
        if (!Array.isArray(v)) {
          throw new HttpProblem(
            status,
            `${field}[${i}] must be an array of token ids like ${field}[0], got ${kindOf(v)}`,
            `${field}[${i}]`,
          );
        }
        return tokenIds(v, `${field}[${i}]`, status);
      }),
    };
  }
  value.forEach((v: unknown, i) => {
    if (typeof v !== 'string') {
      throw new HttpProblem(
        status,
        `${field}[${i}] must be a string like ${field}[0], got ${kindOf(v)}`,
        `${field}[${i}]`,
      );
    }
    if (v.length === 0) throw new HttpProblem(status, `${field}[${i}] is an empty string`, `${field}[${i}]`);
  });
  return { texts: value as string[] };
}

/** A non-empty array of token ids (integers from 0 to 2^31 - 1). */
function tokenIds(value: readonly unknown[], field: string, status: number): Int32Array {
  if (value.length === 0) throw new HttpProblem(status, `${field} is an empty array of token ids`, field);
  const ids = new Int32Array(value.length);
  value.forEach((v, j) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new HttpProblem(
        status,
        `${field}[${j}] must be a token id (an integer ≥ 0), got ${typeof v === 'number' ? String(v) : kindOf(v)}`,
        `${field}[${j}]`,
      );
    }
    ids[j] = v;
  });
  return ids;
}

export function readBoolean(value: unknown, field: string, fallback: boolean, api: Api): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new HttpProblem(
      validationStatus(api),
      `${field} must be true or false, got ${kindOf(value)}`,
      field,
    );
  }
  return value;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
