/**
 * What the embed API reads from a request body once its schema has passed it (openapi.ts, validated by fastify
 * and refused in the API's words: TEI 422, OpenAI 400, naming the field): what depends on the running server.
 * The model asked for (or the default), the inputs (at most the per-request limit), and the API's status for a
 * refusal of its own.
 */
import type { EmbeddingService } from '../../inference/text/embedding-service.js';
import { HttpProblem } from '../http/problem.js';
import type { RequestLimit } from '../http/request-limits.js';
import { schemaRefusal } from '../http/schema-refusal.js';

/** The refusal of a request with more inputs than a request may hold (TEI's `batch_size` failure). */
export class BatchSizeProblem extends HttpProblem {}

/** The API a request came to: TEI's routes, or OpenAI's `/v1/...`. */
export type Api = 'tei' | 'openai';

export function validationStatus(api: Api): number {
  // TEI answers bad requests with 422; OpenAI with 400.
  return api === 'tei' ? 422 : 400;
}

/** How each API refuses a body its schema does not allow. */
export const SCHEMA_REFUSAL: Readonly<Record<Api, ReturnType<typeof schemaRefusal>>> = {
  tei: schemaRefusal({ status: 422, separator: ' ' }),
  openai: schemaRefusal({ status: 400, separator: ' ' }),
};

export function pickService(
  state: { readonly services: ReadonlyMap<string, EmbeddingService>; readonly ready: boolean },
  model: string | undefined,
  fallback: string,
): EmbeddingService {
  if (!state.ready)
    throw new HttpProblem(503, 'the models are still loading; retry when /health answers 200');
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

/** Inputs as their schema allows them: a text, texts, a sequence of token ids, or sequences. */
export type InputsValue = string | string[] | number[] | number[][];

/**
 * The inputs, at most `itemLimit` of them (one sequence of token ids is one input), refused in TEI's words
 * ("batch size N > maximum allowed batch size M"), which clients parse to split their batches. Token ids are
 * taken as the model's own, specials included, as TEI and vLLM take them; the caller checks them against the
 * vocabulary.
 */
export function readInputs(
  value: InputsValue,
  field: string,
  api: Api,
  itemLimit: RequestLimit,
): EmbedInputs {
  if (typeof value === 'string') return { texts: [value] };
  if (isTokenIds(value)) return { ids: [Int32Array.from(value)] };
  if (value.length > itemLimit.value) {
    throw new BatchSizeProblem(
      validationStatus(api),
      `batch size ${value.length} > maximum allowed batch size ${itemLimit.value}: send at most ` +
        `${itemLimit.value} ${field} per request (${itemLimit.flag})`,
      field,
    );
  }
  if (isTexts(value)) return { texts: value };
  return { ids: value.map((ids) => Int32Array.from(ids)) };
}

function isTokenIds(value: Exclude<InputsValue, string>): value is number[] {
  return typeof value[0] === 'number';
}

function isTexts(value: string[] | number[][]): value is string[] {
  return typeof value[0] === 'string';
}
