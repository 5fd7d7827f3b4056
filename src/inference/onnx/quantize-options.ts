/**
 * The options of the int8 quantiser (quantize.ts) and their defaults, apart from it so that the CLI can show
 * the defaults in --help without loading the ONNX schema.
 */

/** Weights with fewer elements stay FP32 unless told otherwise: their share of the time is small. */
export const DEFAULT_MIN_ELEMENTS = 16384;

export interface QuantizeOptions {
  /** A weight with fewer elements than this stays FP32 (default DEFAULT_MIN_ELEMENTS). */
  readonly minElements?: number;
  /** Names of MatMul/Gemm nodes to keep in FP32. Each must name a node of the graph. */
  readonly exclude?: readonly string[];
}
