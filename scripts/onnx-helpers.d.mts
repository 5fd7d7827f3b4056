// Types of onnx-helpers.mjs, for the TypeScript that imports it (src/inference/test-support.ts builds its
// tiny test graphs with the same pieces as the model builders).
import type onnxProto from 'onnx-proto';

export const onnx: typeof onnxProto.onnx;
export const FLOAT: number;
export const INT64: number;

/** An FP32 initializer over the bytes of a Float32Array (no copy). */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): object;
/** An INT64 initializer from numbers. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): object;
/** A node attribute: string, list of ints, int or float, by the value's type. */
export function attr(name: string, value: string | readonly number[] | number): object;
/** A graph input or output: element type and dims (a string dim is symbolic). */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): object;
/** n samples of N(0, std) by Box-Muller, straight into a Float32Array. */
export function normalArray(n: number, std: number, rand: () => number): Float32Array;
