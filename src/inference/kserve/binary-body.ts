import { InferenceInputError } from '../../core/errors.js';
/**
 * The binary part of a KServe v2 body (Triton's binary tensor data extension): collecting a body's chunks into
 * one buffer aligned for zero-copy tensor views (BodyAssembler), handing out its tensors' bytes in order
 * (BinaryReader), and writing a JSON header followed by tensor bytes (assembleBody). Binary tensor data is
 * little-endian, row-major, without padding.
 */

/**
 * A body ready to send: its bytes, the length of its JSON part when binary data follows, its content type.
 */
export interface EncodedBody {
  readonly body: Buffer;
  /** For the `Inference-Header-Content-Length` header; absent when the body is JSON alone. */
  readonly headerLength?: number;
  readonly contentType: 'application/json' | 'application/octet-stream';
}

/** The binary extension is little-endian; typed arrays are in the host's order. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Collects a body's chunks into one buffer, placed so that the binary part (after a JSON header of
 * `headerLength` bytes) starts 8-byte aligned, so the tensors can be viewed without another copy. When the
 * length is known (Content-Length), the buffer grows by doubling up to it as bytes arrive, never beyond what
 * arrived: a client that claims a large body and sends a few bytes costs a few bytes, not the claimed size.
 * `push` returns false once more than `limit` bytes arrived.
 */
export class BodyAssembler {
  /** Smallest buffer allocated for a body of known length (bytes). */
  static readonly INITIAL_BYTES = 64 * 1024;
  private buffer: Uint8Array | null;
  private readonly chunks: Uint8Array[] = [];
  private received = 0;

  constructor(
    private readonly expectedBytes: number | undefined,
    private readonly headerLength: number | undefined,
    private readonly limit: number,
  ) {
    this.buffer =
      expectedBytes !== undefined && expectedBytes <= limit
        ? this.allocate(Math.min(expectedBytes, BodyAssembler.INITIAL_BYTES))
        : null;
  }

  /** Bytes received so far. */
  get receivedBytes(): number {
    return this.received;
  }

  /** Adds a chunk; false when the body is now over the limit (the caller stops reading). */
  push(chunk: Uint8Array): boolean {
    const end = this.received + chunk.byteLength;
    if (end > this.limit) return false;
    if (this.buffer !== null) {
      const expected = this.expectedBytes as number;
      if (end > expected) {
        throw new InferenceInputError(`the body is longer than its Content-Length (${expected} bytes)`);
      }
      if (end > this.buffer.byteLength) {
        const grown = this.allocate(Math.min(expected, Math.max(end, 2 * this.buffer.byteLength)));
        grown.set(this.buffer.subarray(0, this.received));
        this.buffer = grown;
      }
      this.buffer.set(chunk, this.received);
    } else {
      this.chunks.push(chunk);
    }
    this.received = end;
    return true;
  }

  /** The body. Throws InferenceInputError when it is shorter than its Content-Length. */
  finish(): Uint8Array {
    if (this.buffer !== null) {
      const expected = this.expectedBytes as number;
      if (this.received !== expected) {
        throw new InferenceInputError(
          `the body ended after ${this.received} of its ${expected} bytes (Content-Length)`,
        );
      }
      return this.buffer.subarray(0, this.received);
    }
    const out = this.allocate(this.received);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    this.chunks.length = 0;
    return out;
  }

  private allocate(n: number): Uint8Array {
    const pad = this.headerLength === undefined ? 0 : (8 - (this.headerLength % 8)) % 8;
    return Buffer.allocUnsafeSlow(n + pad).subarray(pad, pad + n);
  }
}

/** Hands out the binary part of a body, tensor by tensor, in order. */
export class BinaryReader {
  private offset: number;

  constructor(
    private readonly body: Uint8Array,
    private readonly headerLength: number | undefined,
  ) {
    this.offset = headerLength ?? body.byteLength;
  }

  take(size: number, name: string, where: string): Uint8Array {
    if (this.headerLength === undefined) {
      throw new InferenceInputError(
        `${where} '${name}' has parameters.binary_data_size but the body has no binary part ` +
          '(send the Inference-Header-Content-Length header with the length of the JSON)',
      );
    }
    const remain = this.body.byteLength - this.offset;
    if (size > remain) {
      throw new InferenceInputError(
        `binary_data_size of '${name}' (${where}) is ${size} but ${remain} bytes remain in the body`,
      );
    }
    // A plain Uint8Array view: tensorDataFromBytes copies misaligned bytes with slice(), which on a Buffer
    // would be another view.
    const bytes = new Uint8Array(this.body.buffer, this.body.byteOffset + this.offset, size);
    this.offset += size;
    return bytes;
  }

  finish(): void {
    const extra = this.body.byteLength - this.offset;
    if (extra > 0) {
      throw new InferenceInputError(
        `${extra} bytes of binary data follow the tensors' binary_data_size ` +
          '(the body has more than they claim)',
      );
    }
  }
}

/** A JSON header and the tensors' bytes after it, as one body (JSON alone when there are none). */
export function assembleBody(json: string, chunks: readonly Uint8Array[]): EncodedBody {
  if (chunks.length === 0) return { body: Buffer.from(json, 'utf8'), contentType: 'application/json' };
  const headerLength = Buffer.byteLength(json, 'utf8');
  let total = headerLength;
  for (const c of chunks) total += c.byteLength;
  const body = Buffer.allocUnsafe(total);
  body.write(json, 0, 'utf8');
  let at = headerLength;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return { body, headerLength, contentType: 'application/octet-stream' };
}
