/**
 * Triton's HTTP extensions of the KServe v2 protocol that a local engine offers (its ModelControl,
 * inference/tensor/model-control.ts), so that tritonclient's get_model_repository_index(), load_model(),
 * unload_model(), get_model_config() and get_inference_statistics() work against pitlane:
 *
 *   POST /v2/repository/index                              {"ready": bool} optional; [{name, version?, state, reason}]
 *   POST /v2/repository/models/{m}/load                    body optional; 200 once loaded and warmed up
 *   POST /v2/repository/models/{m}/unload                  body optional; 200 once requests in flight finished
 *   GET  /v2/models/{m}[/versions/{v}]/config              Triton's model configuration JSON
 *   GET  /v2/models[/{m}[/versions/{v}]]/stats             {"model_stats": [...]}
 *
 * Errors are KServe's `{"error": "..."}` with Triton's status codes: 400 a malformed body or a field pitlane does
 * not honour (the message names it), 400 a load that failed (naming the model and the error), 404 an unknown
 * model or version, 503 the configuration of a model that is not loaded.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelControl } from '../../inference/tensor/model-control.js';
import { HttpProblem } from '../http/problem.js';

/** The extension names `GET /v2` lists when these routes are served. */
export const TRITON_EXTENSIONS = ['model_repository', 'model_configuration', 'statistics'] as const;

/** Largest body of these requests (they carry a few flags). */
const CONTROL_BODY_LIMIT_BYTES = 64 * 1024;

type ModelParams = { model: string; version?: string };

/** Registers the routes on `app` (in a scope of their own, reading any body as bytes). */
export function registerTritonExtensions(app: FastifyInstance, control: ModelControl): void {
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: CONTROL_BODY_LIMIT_BYTES },
      (_r, body, parsed) => {
        parsed(null, body);
      },
    );

    scope.post('/v2/repository/index', async (request, reply) => {
      const body = bodyObject(request.body);
      refuseOthers(body, ['ready'], '');
      const ready = body.ready ?? false;
      if (typeof ready !== 'boolean') {
        throw new HttpProblem(400, `ready: must be a boolean (true or false), got ${JSON.stringify(ready)}`);
      }
      return reply.send(await control.repositoryIndex(ready));
    });

    scope.post(
      '/v2/repository/models/:model/load',
      async (request: FastifyRequest<{ Params: ModelParams }>, reply) => {
        const parameters = loadParameters(bodyObject(request.body));
        refuseOthers(
          parameters,
          [],
          'parameters.',
          'pitlane loads models from its repository file as they are',
        );
        await control.loadModel(request.params.model);
        return reply.code(200).send();
      },
    );

    scope.post(
      '/v2/repository/models/:model/unload',
      async (request: FastifyRequest<{ Params: ModelParams }>, reply) => {
        const parameters = loadParameters(bodyObject(request.body));
        refuseOthers(parameters, ['unload_dependents'], 'parameters.');
        const dependents = parameters.unload_dependents;
        if (dependents !== undefined && typeof dependents !== 'boolean') {
          throw new HttpProblem(
            400,
            `parameters.unload_dependents: must be a boolean, got ${JSON.stringify(dependents)}`,
          );
        }
        // No model depends on another here (there are no ensembles), so there is nothing more to unload.
        await control.unloadModel(request.params.model);
        return reply.code(200).send();
      },
    );

    const config = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
      const { model, version } = request.params;
      return reply.send(await control.modelConfig(model, version));
    };
    scope.get('/v2/models/:model/config', config);
    scope.get('/v2/models/:model/versions/:version/config', config);

    const stats = async (request: FastifyRequest<{ Params: Partial<ModelParams> }>, reply: FastifyReply) => {
      const { model, version } = request.params;
      return reply.send({ model_stats: await control.modelStatistics(model, version) });
    };
    scope.get('/v2/models/stats', stats);
    scope.get('/v2/models/:model/stats', stats);
    scope.get('/v2/models/:model/versions/:version/stats', stats);
    done();
  });
}

/** The request's JSON object; an empty or absent body is `{}`. */
function bodyObject(body: unknown): Record<string, unknown> {
  if (!(body instanceof Uint8Array) || body.byteLength === 0) return {};
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpProblem(400, `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpProblem(400, `the request body must be a JSON object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/** The `parameters` object of a load or unload request (`{}` when absent). */
function loadParameters(body: Record<string, unknown>): Record<string, unknown> {
  refuseOthers(body, ['parameters'], '');
  const parameters: unknown = body.parameters ?? {};
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw new HttpProblem(400, `parameters: must be an object, got ${JSON.stringify(parameters)}`);
  }
  return parameters as Record<string, unknown>;
}

/** Refuses a field that is not in `known`: every field is honoured or refused, never ignored. */
function refuseOthers(
  object: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
  why = `the fields taken here are: ${known.length === 0 ? 'none' : known.join(', ')}`,
): void {
  const other = Object.keys(object).find((k) => !known.includes(k));
  if (other !== undefined) throw new HttpProblem(400, `${prefix}${other}: not supported; ${why}`);
}
