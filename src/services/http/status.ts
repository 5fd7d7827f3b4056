/**
 * The one table from error code to HTTP status, used by every pitlane service: an error a handler lets through
 * that carries one of these codes is answered with that status and its own message; any other error is a 500.
 * Services keep their own error formats (error-handler.ts); which status an error gets is decided here.
 */
import { PitlaneError, type ErrorCode } from '../../core/errors.js';

/** Error codes that are the client's doing, with the status they are answered with. Absent: 500. */
export const HTTP_STATUS_BY_CODE: Readonly<Partial<Record<ErrorCode, number>>> = Object.freeze({
  /** A bad item of the request, e.g. an upload that is not an image (ImageError). */
  PL_ERR_ITEM: 400,
  /** Faces or OCR asked of a service started without them. */
  PL_ERR_FEATURE_UNAVAILABLE: 400,
  /** A request's tensors do not fit the model, or its body is malformed. */
  PL_ERR_INFERENCE_INPUT: 400,
  /** An unknown model or version. */
  PL_ERR_MODEL_NOT_FOUND: 404,
  /** A model of the repository that is not loaded now (Triton's "not ready"). */
  PL_ERR_MODEL_NOT_READY: 503,
  /** A model that failed to load (Triton answers a failed load with 400). */
  PL_ERR_MODEL_LOAD: 400,
});

/** The status of an error by its code; null when the table does not name it (then it is a 500). */
export function httpStatusOf(error: unknown): number | null {
  if (!(error instanceof PitlaneError)) return null;
  return HTTP_STATUS_BY_CODE[error.code] ?? null;
}
