/**
 * A strict check of protobuf wire format, before decoding. protobufjs (under @grpc/proto-loader) decodes
 * leniently: a length that runs past the end of a message is cut short, and a field sent with the wrong wire
 * type is skipped, so malformed bytes can decode into a plausible request. The model server checks a
 * ModelInferRequest's bytes here first and refuses malformed ones with a message that says where they go wrong
 * (`inputs[0].contents: field 6 declares 4000 bytes, 12 are left`). One pass over the fields, no allocation:
 * length-delimited payloads are skipped unless the schema says they hold a message.
 */

/** The wire types: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit (3 and 4, groups, are not proto3). */
type WireType = 0 | 1 | 2 | 5;

/** What one field number may hold. */
export interface FieldSpec {
  readonly name: string;
  /** Wire types allowed (a packed repeated scalar comes as 2, or one element at a time as its own type). */
  readonly wire: readonly WireType[];
  /** The message a length-delimited payload holds. */
  readonly message?: MessageSpec;
  /** A packed payload's elements: varints, or fixed 4 / 8 bytes each. */
  readonly packed?: 'varint' | 4 | 8;
  /** Repeated or map: the path shows each occurrence's index. */
  readonly repeated?: boolean;
}

export type MessageSpec = Readonly<Record<number, FieldSpec>>;

export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

/** Throws WireFormatError when `bytes` is not a well-formed encoding of the message `spec` describes. */
export function checkWireFormat(bytes: Uint8Array, spec: MessageSpec): void {
  checkMessage(bytes, 0, bytes.byteLength, spec, '');
}

function checkMessage(b: Uint8Array, start: number, end: number, spec: MessageSpec, path: string): void {
  const counts = new Map<number, number>();
  let at = start;
  while (at < end) {
    const tagAt = at;
    const [tag, next] = readVarint(b, at, end, path, 'a field tag');
    at = next;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) fail(path, `byte ${tagAt - start} holds field number 0, which protobuf does not allow`);
    const fieldSpec = spec[field];
    const n = counts.get(field) ?? 0;
    counts.set(field, n + 1);
    const where = fieldSpec === undefined ? `field ${field}` : `${fieldSpec.name} (field ${field})`;
    if (fieldSpec !== undefined && !(fieldSpec.wire as readonly number[]).includes(wire)) {
      fail(path, `${where} has wire type ${wire}, expected ${fieldSpec.wire.join(' or ')}`);
    }
    switch (wire) {
      case 0:
        at = readVarint(b, at, end, path, where)[1];
        break;
      case 1:
      case 5: {
        const size = wire === 1 ? 8 : 4;
        if (at + size > end) fail(path, `${where} needs ${size} bytes, ${end - at} are left`);
        at += size;
        break;
      }
      case 2: {
        const [length, from] = readVarint(b, at, end, path, `the length of ${where}`);
        if (length > end - from) fail(path, `${where} declares ${length} bytes, ${end - from} are left`);
        const to = from + length;
        if (fieldSpec?.message !== undefined) {
          const inner = `${path === '' ? '' : `${path}.`}${fieldSpec.name}${fieldSpec.repeated === true ? `[${n}]` : ''}`;
          checkMessage(b, from, to, fieldSpec.message, inner);
        } else if (fieldSpec?.packed !== undefined) {
          checkPacked(b, from, to, fieldSpec.packed, path, where);
        }
        at = to;
        break;
      }
      default:
        fail(path, `${where} has wire type ${wire}, which proto3 does not use`);
    }
  }
}

function checkPacked(
  b: Uint8Array,
  from: number,
  to: number,
  packed: 'varint' | 4 | 8,
  path: string,
  where: string,
): void {
  if (packed !== 'varint') {
    if ((to - from) % packed !== 0) {
      fail(path, `${where} holds ${to - from} bytes, not a whole number of ${packed}-byte elements`);
    }
    return;
  }
  let at = from;
  while (at < to) at = readVarint(b, at, to, path, `an element of ${where}`)[1];
}

/** A varint's value (exact up to 2^53, which covers tags and lengths) and the offset after it. */
function readVarint(b: Uint8Array, at: number, end: number, path: string, what: string): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at + i >= end) fail(path, `${what} is cut off at the end of the message`);
    const byte = b[at + i] as number;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return [value, at + i + 1];
  }
  fail(path, `${what} is a varint longer than 10 bytes`);
}

function fail(path: string, what: string): never {
  throw new WireFormatError(path === '' ? what : `${path}: ${what}`);
}

// -----------------------------------------------------------------------------------------------------------
// The schema of ModelInferRequest (proto/grpc_service.proto)

const STRING: readonly WireType[] = [2];
const VARINTS: readonly WireType[] = [0, 2];

const INFER_PARAMETER: MessageSpec = {
  1: { name: 'bool_param', wire: [0] },
  2: { name: 'int64_param', wire: [0] },
  3: { name: 'string_param', wire: STRING },
  4: { name: 'double_param', wire: [1] },
  5: { name: 'uint64_param', wire: [0] },
};

const PARAMETER_ENTRY: MessageSpec = {
  1: { name: 'key', wire: STRING },
  2: { name: 'value', wire: STRING, message: INFER_PARAMETER },
};

const PARAMETERS: FieldSpec = { name: 'parameters', wire: STRING, message: PARAMETER_ENTRY, repeated: true };

const TENSOR_CONTENTS: MessageSpec = {
  1: { name: 'bool_contents', wire: VARINTS, packed: 'varint' },
  2: { name: 'int_contents', wire: VARINTS, packed: 'varint' },
  3: { name: 'int64_contents', wire: VARINTS, packed: 'varint' },
  4: { name: 'uint_contents', wire: VARINTS, packed: 'varint' },
  5: { name: 'uint64_contents', wire: VARINTS, packed: 'varint' },
  6: { name: 'fp32_contents', wire: [5, 2], packed: 4 },
  7: { name: 'fp64_contents', wire: [1, 2], packed: 8 },
  8: { name: 'bytes_contents', wire: STRING },
};

const INPUT_TENSOR: MessageSpec = {
  1: { name: 'name', wire: STRING },
  2: { name: 'datatype', wire: STRING },
  3: { name: 'shape', wire: VARINTS, packed: 'varint' },
  4: PARAMETERS,
  5: { name: 'contents', wire: STRING, message: TENSOR_CONTENTS },
};

const REQUESTED_OUTPUT: MessageSpec = {
  1: { name: 'name', wire: STRING },
  2: PARAMETERS,
};

export const MODEL_INFER_REQUEST: MessageSpec = {
  1: { name: 'model_name', wire: STRING },
  2: { name: 'model_version', wire: STRING },
  3: { name: 'id', wire: STRING },
  4: PARAMETERS,
  5: { name: 'inputs', wire: STRING, message: INPUT_TENSOR, repeated: true },
  6: { name: 'outputs', wire: STRING, message: REQUESTED_OUTPUT, repeated: true },
  7: { name: 'raw_input_contents', wire: STRING },
};

/** Any message, checked for structure only (tags, lengths), for the RPCs whose requests are small. */
export const ANY_MESSAGE: MessageSpec = {};
