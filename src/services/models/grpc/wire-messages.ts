/**
 * The service definition as the server registers it: each RPC's request deserialiser is wrapped so that it never
 * throws and remembers each request's size on the wire. grpc-js answers a deserialiser's exception with a bare
 * INTERNAL "Error deserializing request"; here malformed bytes become a request marked malformed, which the
 * handler answers with INVALID_ARGUMENT saying what is wrong. ModelInferRequest bytes are checked strictly first
 * (inference/kserve/protobuf-wire.ts), since protobufjs decodes some malformed bytes without complaint.
 */
import {
  ANY_MESSAGE,
  MODEL_INFER_REQUEST,
  checkWireFormat,
} from '../../../inference/kserve/protobuf-wire.js';
import {
  RPC_NAMES,
  inferenceService,
  type RpcDefinition,
  type RpcName,
} from '../../../inference/kserve/grpc-proto.js';

const MALFORMED = Symbol('malformed');

/** A request that could not be decoded, and why. */
interface Malformed {
  readonly [MALFORMED]: string;
}

const sizes = new WeakMap<object, number>();

/** Why a request could not be decoded, or null for a good one. */
export function malformedReason(request: object): string | null {
  return MALFORMED in request ? (request as Malformed)[MALFORMED] : null;
}

/** A request's size on the wire, in bytes. */
export function wireBytes(request: object): number {
  return sizes.get(request) ?? 0;
}

/** The service definition with the wrapped request deserialisers. */
export function serverServiceDefinition(): Record<RpcName, RpcDefinition> {
  const service = inferenceService();
  const out = {} as Record<RpcName, RpcDefinition>;
  for (const name of RPC_NAMES) {
    const rpc = service[name];
    const strict = name === 'ModelInfer' || name === 'ModelStreamInfer' ? MODEL_INFER_REQUEST : ANY_MESSAGE;
    out[name] = {
      ...rpc,
      requestDeserialize: (bytes: Buffer): object => {
        try {
          checkWireFormat(bytes, strict);
          const request = rpc.requestDeserialize(bytes);
          sizes.set(request, bytes.byteLength);
          return request;
        } catch (err) {
          const malformed: Malformed = {
            [MALFORMED]: `the message is not valid protobuf: ${err instanceof Error ? err.message : String(err)}`,
          };
          return malformed;
        }
      },
    };
  }
  return out;
}
