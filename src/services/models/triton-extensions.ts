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
 * The bodies are validated from their schemas in openapi.ts (`validatedBy`). Errors are KServe's `{"error": "..."}`
 * with Triton's status codes: 400 a malformed body or a field pitlane does not honour (the message names it by its
 * JSON path), 400 a load that failed (naming the model and the error), 404 an unknown
 * model or version, 503 the configuration of a model that is not loaded.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelControl } from '../../inference/tensor/model-control.js';
import { validatedBy } from '../http/openapi.js';
import { HttpProblem } from '../http/problem.js';
import { schemaRefusal } from '../http/schema-refusal.js';
import { MODEL_SERVER_ROUTES } from './openapi.js';

/** The extension names `GET /v2` lists when these routes are served. */
export const TRITON_EXTENSIONS = ['model_repository', 'model_configuration', 'statistics'] as const;

/** How KServe refuses a body its schema does not allow: 400 `{"error": "parameters.force: not supported; ..."}`. */
export const KSERVE_REFUSAL = schemaRefusal({ status: 400, separator: ': ' });

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
        try {
          parsed(null, parseBody(body as Buffer));
        } catch (err) {
          parsed(err as Error, undefined);
        }
      },
    );

    const typed = scope.withTypeProvider<TypeBoxTypeProvider>();
    typed.post(
      '/v2/repository/index',
      validatedBy(MODEL_SERVER_ROUTES['POST /v2/repository/index'], KSERVE_REFUSAL),
      async (request, reply) => reply.send(await control.repositoryIndex(request.body?.ready ?? false)),
    );

    typed.post(
      '/v2/repository/models/:model/load',
      validatedBy(MODEL_SERVER_ROUTES['POST /v2/repository/models/:model/load'], KSERVE_REFUSAL),
      async (request, reply) => {
        await control.loadModel(request.params.model);
        return reply.code(200).send();
      },
    );

    typed.post(
      '/v2/repository/models/:model/unload',
      validatedBy(MODEL_SERVER_ROUTES['POST /v2/repository/models/:model/unload'], KSERVE_REFUSAL),
      async (request, reply) => {
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

/** The request's JSON value; an empty body is null (as absent: the schemas take null for no body). */
function parseBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpProblem(400, `the request body is not valid JSON: ${(err as Error).message}`);
  }
}
