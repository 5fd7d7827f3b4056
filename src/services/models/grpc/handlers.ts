/**
 * The handler of every RPC of `inference.GRPCInferenceService`: health, metadata and Triton's configuration,
 * statistics and repository extensions here; inference in infer.ts. The extensions call the engine's
 * ModelControl (inference/tensor/model-control.ts, the contract the HTTP routes share) and answer UNIMPLEMENTED
 * when there is none (an engine that is itself a client of another server).
 */
import { type sendUnaryData, type ServerUnaryCall, type UntypedHandleCall } from '@grpc/grpc-js';
import { InferenceInputError } from '../../../core/errors.js';
import type {
  ModelRequestMessage,
  RepositoryIndexRequestMessage,
  RepositoryModelRequestMessage,
  RpcName,
  ServerMetadataResponseMessage,
} from '../../../inference/kserve/grpc-proto.js';
import type { ModelControl } from '../../../inference/tensor/model-control.js';
import { HttpProblem } from '../../http/problem.js';
import { metadataJson } from '../app.js';
import { TRITON_EXTENSIONS } from '../triton-extensions.js';
import { modelInferHandler, modelStreamInferHandler, type InferContext } from './infer.js';
import { grpcFailure } from './status.js';
import { malformedReason } from './wire-messages.js';

/** What the handlers answer from. */
export interface HandlerContext extends InferContext {
  readonly serverName: string;
  readonly version: string;
  readonly control: ModelControl | null;
}

/** The extensions ServerMetadata lists: Triton's names of those served. */
export function grpcExtensions(control: ModelControl | null): string[] {
  return control === null ? [] : [...TRITON_EXTENSIONS];
}

/** A handler for every RPC of the service. */
export function grpcHandlers(ctx: HandlerContext): Record<RpcName, UntypedHandleCall> {
  const { engine } = ctx;
  const control = (what: string): ModelControl => {
    if (ctx.control !== null) return ctx.control;
    throw new HttpProblem(501, `${what} is not offered by this server (its models are not local)`);
  };
  return {
    ServerLive: unary(() => Promise.resolve({ live: true })),
    ServerReady: unary(async () => ({ ready: await engine.ready().catch(() => false) })),
    // As Triton: an unknown model is not ready (no error).
    ModelReady: unary(async (r: ModelRequestMessage) => ({
      ready: await engine.modelReady(modelName(r.name, 'name'), versionOf(r.version)).catch(() => false),
    })),
    ServerMetadata: unary((): Promise<ServerMetadataResponseMessage> =>
      Promise.resolve({
        name: ctx.serverName,
        version: ctx.version,
        extensions: grpcExtensions(ctx.control),
      }),
    ),
    ModelMetadata: unary(async (r: ModelRequestMessage) =>
      metadataJson(await engine.modelMetadata(modelName(r.name, 'name'), versionOf(r.version))),
    ),
    ModelInfer: modelInferHandler(ctx),
    ModelStreamInfer: modelStreamInferHandler(ctx),
    ModelConfig: unary(async (r: ModelRequestMessage) => ({
      config: await control('the model configuration extension').modelConfig(
        modelName(r.name, 'name'),
        versionOf(r.version),
      ),
    })),
    ModelStatistics: unary(async (r: ModelRequestMessage) => ({
      model_stats: await control('the statistics extension').modelStatistics(
        r.name === '' ? undefined : r.name,
        versionOf(r.version),
      ),
    })),
    RepositoryIndex: unary(async (r: RepositoryIndexRequestMessage) => ({
      models: (await control('the model repository extension').repositoryIndex(r.ready)).map((m) => ({
        name: m.name,
        version: m.version ?? '',
        state: m.state,
        reason: m.reason,
      })),
    })),
    RepositoryModelLoad: unary(async (r: RepositoryModelRequestMessage) => {
      const name = modelName(r.model_name, 'model_name');
      const keys = Object.keys(r.parameters);
      if (keys.length > 0) {
        throw new InferenceInputError(
          `parameters ${keys.map((k) => `'${k}'`).join(', ')}: loading with a config or files of the ` +
            'request is not supported; models load as models.yaml describes them',
        );
      }
      await control('the model repository extension').loadModel(name);
      return {};
    }),
    RepositoryModelUnload: unary(async (r: RepositoryModelRequestMessage) => {
      const name = modelName(r.model_name, 'model_name');
      // tritonclient always sends unload_dependents; pitlane's models have no dependents (no ensembles).
      const unknown = Object.keys(r.parameters).filter((k) => k !== 'unload_dependents');
      if (unknown.length > 0) {
        throw new InferenceInputError(
          `parameters ${unknown.map((k) => `'${k}'`).join(', ')}: unknown to unload (only unload_dependents)`,
        );
      }
      await control('the model repository extension').unloadModel(name);
      return {};
    }),
  };
}

/** A unary handler from an async function of the request; its rejection is answered with its gRPC code. */
function unary<Req extends object>(
  handle: (request: Req) => Promise<object>,
): (call: ServerUnaryCall<Req, object>, callback: sendUnaryData<object>) => void {
  return (call, callback) => {
    const malformed = malformedReason(call.request);
    const answer =
      malformed === null
        ? Promise.resolve().then(() => handle(call.request))
        : Promise.reject(new InferenceInputError(malformed));
    answer.then(
      (response) => {
        callback(null, response);
      },
      (err: unknown) => {
        callback(grpcFailure(err), null);
      },
    );
  };
}

function modelName(name: string, field: string): string {
  if (name === '') throw new InferenceInputError(`${field} is missing: name the model`);
  return name;
}

function versionOf(version: string): string | undefined {
  return version === '' ? undefined : version;
}
