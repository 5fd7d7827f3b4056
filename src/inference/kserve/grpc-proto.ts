/**
 * The KServe v2 gRPC protocol as pitlane's server and client load it: proto/grpc_service.proto (with
 * proto/model_config.proto) through @grpc/proto-loader, and the TypeScript shapes of the messages as the loader
 * hands them over. Options, the same on both sides: `keepCase` (field names are the protocol's snake_case ones),
 * 64-bit integers as Numbers (a shape or an INT64 element past 2^53 loses precision: send such tensors as raw
 * contents), enums as their names, and `defaults` (absent fields read as their zero value, so a handler never
 * meets `undefined`).
 */
import { join } from 'node:path';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { packageRoot } from '../../process/package-root.js';

/** The folder holding the .proto files (shipped with the package). */
export function protoDir(): string {
  return join(packageRoot(), 'proto');
}

/** The service's full name, as it appears in gRPC paths (`/inference.GRPCInferenceService/ModelInfer`). */
export const SERVICE_NAME = 'inference.GRPCInferenceService';

/** The RPCs of the service, in the order of the .proto. */
export const RPC_NAMES = [
  'ServerLive',
  'ServerReady',
  'ModelReady',
  'ServerMetadata',
  'ModelMetadata',
  'ModelInfer',
  'ModelStreamInfer',
  'ModelConfig',
  'ModelStatistics',
  'RepositoryIndex',
  'RepositoryModelLoad',
  'RepositoryModelUnload',
] as const;

export type RpcName = (typeof RPC_NAMES)[number];

/** One RPC's path and (de)serialisers, with untyped messages (each handler knows its own). */
export type RpcDefinition = MethodDefinition<object, object>;

export type ServiceDefinitionOf = Readonly<Record<RpcName, RpcDefinition>>;

let loaded: ServiceDefinitionOf | null = null;

/** The service definition: loaded from proto/ on the first call, then remembered. */
export function inferenceService(): ServiceDefinitionOf {
  if (loaded !== null) return loaded;
  const definition = loadSync('grpc_service.proto', {
    includeDirs: [protoDir()],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = definition[SERVICE_NAME] as unknown as Record<string, RpcDefinition> | undefined;
  if (service === undefined) throw new Error(`${protoDir()}/grpc_service.proto has no ${SERVICE_NAME}`);
  for (const name of RPC_NAMES) {
    if (service[name] === undefined) throw new Error(`${protoDir()}/grpc_service.proto has no rpc ${name}`);
  }
  loaded = service as ServiceDefinitionOf;
  return loaded;
}

// -----------------------------------------------------------------------------------------------------------
// Messages, as the loader hands them over (every field present) and as they may be written (fields optional)

/** A parameter: one of its fields is set, and `parameter_choice` names it (absent when none is). */
export interface InferParameter {
  readonly bool_param?: boolean;
  readonly int64_param?: number;
  readonly string_param?: string;
  readonly double_param?: number;
  readonly uint64_param?: number;
  readonly parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
}

export type InferParameters = Readonly<Record<string, InferParameter>>;

/** Typed tensor elements: the field of the tensor's datatype is set. */
export interface InferTensorContents {
  readonly bool_contents?: readonly boolean[];
  readonly int_contents?: readonly number[];
  readonly int64_contents?: readonly number[];
  readonly uint_contents?: readonly number[];
  readonly uint64_contents?: readonly number[];
  readonly fp32_contents?: readonly number[];
  readonly fp64_contents?: readonly number[];
  readonly bytes_contents?: readonly Uint8Array[];
}

export interface InferTensorMessage {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly parameters?: InferParameters;
  /** null (absent) when the tensor travels as raw contents. */
  readonly contents?: InferTensorContents | null;
}

export interface RequestedOutputMessage {
  readonly name: string;
  readonly parameters?: InferParameters;
}

export interface ModelInferRequestMessage {
  readonly model_name: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly parameters?: InferParameters;
  readonly inputs: readonly InferTensorMessage[];
  readonly outputs?: readonly RequestedOutputMessage[];
  readonly raw_input_contents?: readonly Uint8Array[];
}

export interface ModelInferResponseMessage {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters?: InferParameters;
  readonly outputs: readonly InferTensorMessage[];
  readonly raw_output_contents: readonly Uint8Array[];
}

export interface ModelStreamInferResponseMessage {
  readonly error_message: string;
  readonly infer_response: ModelInferResponseMessage | null;
}

/** The requests naming a model (ModelReady, ModelMetadata, ModelConfig, ModelStatistics). */
export interface ModelRequestMessage {
  readonly name: string;
  readonly version: string;
}

export interface TensorMetadataMessage {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface ModelMetadataResponseMessage {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadataMessage[];
  readonly outputs: readonly TensorMetadataMessage[];
}

export interface ServerMetadataResponseMessage {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

export interface RepositoryIndexRequestMessage {
  readonly repository_name: string;
  readonly ready: boolean;
}

/** A repository parameter (load / unload overrides). */
export interface ModelRepositoryParameter {
  readonly parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';
}

export interface RepositoryModelRequestMessage {
  readonly repository_name: string;
  readonly model_name: string;
  readonly parameters: Readonly<Record<string, ModelRepositoryParameter>>;
}
