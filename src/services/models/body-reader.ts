/**
 * How the model server reads a request body: into one buffer (the KServe codec's BodyAssembler, which knows the
 * binary-tensor layout), decompressing gzip / deflate, taking its bytes from the in-flight budget as they come,
 * and refusing it as soon as it is over the body limit (before reading anything when Content-Length says so).
 */
import type { Readable, Transform } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from '../http/problem.js';
import { BodyAssembler, INFERENCE_HEADER } from '../../inference/kserve/codec.js';

/**
 * Reads a request body into one buffer (see BodyAssembler), decompressing gzip / deflate, and refusing it as
 * soon as it is over the limit (before reading anything when its Content-Length says so).
 */
export function readBody(
  request: FastifyRequest,
  payload: Readable,
  limit: number,
  tooLarge: () => HttpProblem,
  /** Takes bytes from the in-flight budget as they are read (null: taken already); a problem when full. */
  take: ((bytes: number) => HttpProblem | null) | null,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    let decompressor: Transform | null = null;
    if (encoding === 'gzip' || encoding === 'x-gzip') decompressor = createGunzip();
    else if (encoding === 'deflate') decompressor = createInflate();
    else if (encoding !== 'identity' && encoding !== '') {
      reject(
        new HttpProblem(
          415,
          `Content-Encoding '${encoding}' is not supported; use gzip, deflate or identity`,
          null,
          { 'accept-encoding': 'gzip, deflate' },
        ),
      );
      return;
    }
    const source: Readable = decompressor === null ? payload : payload.pipe(decompressor);
    const compressed = decompressor !== null;
    const declared = wholeNumber(request.headers['content-length']);
    if (!compressed && declared !== undefined && declared > limit) {
      reject(tooLarge());
      return;
    }
    const assembler = new BodyAssembler(
      compressed ? undefined : declared,
      wholeNumber(request.headers[INFERENCE_HEADER]),
      limit,
    );
    const stop = (): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      if (decompressor !== null) {
        payload.off('error', onError);
        payload.unpipe(decompressor);
        decompressor.destroy();
        payload.resume();
      }
    };
    const onData = (chunk: Buffer): void => {
      try {
        const full = take?.(chunk.byteLength) ?? null;
        if (full !== null) {
          stop();
          reject(full);
          return;
        }
        if (assembler.push(chunk)) return;
        stop();
        reject(tooLarge());
      } catch (err) {
        stop();
        reject(asError(err));
      }
    };
    const onEnd = (): void => {
      stop();
      try {
        resolve(assembler.finish());
      } catch (err) {
        reject(asError(err));
      }
    };
    const onError = (err: Error): void => {
      stop();
      reject(
        compressed && (err as Error & { code?: string }).code?.startsWith('Z_') === true
          ? new HttpProblem(400, `the body is not valid ${encoding} data: ${err.message}`)
          : err,
      );
    };
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    if (compressed) payload.on('error', onError);
  });
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function wholeNumber(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
