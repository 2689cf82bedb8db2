/**
 * The API's errors: always `{ "error": { "code": "STABLE_CODE", "message": "what to fix" } }`
 * (see docs/http-api.md). Messages never hold a stack trace or a secret.
 */

/** Every code the API answers with, and its HTTP status. */
export const API_ERRORS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  /** The viewer token (`server.viewer_token`) asked for an action: it only reads. */
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  SYNC_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  /** No hook of that name under `hooks` in the project file. */
  HOOK_NOT_FOUND: 404,
  /** Another process (`panelsync run`) holds the sync's run lock. */
  SYNC_ALREADY_RUNNING: 409,
  /** A follow-up run with other options (full_resync, reset_cdc) is already queued. */
  QUEUED_WITH_OTHER_OPTIONS: 409,
  /** The request body is larger than the server reads (`MAX_REQUEST_BODY_BYTES`, src/server/create-app.ts). */
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
  /** The server is stopping and takes no more runs. */
  SHUTTING_DOWN: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

/** The JSON body of an error response. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** An error a route throws to answer with its code; the app's error handler turns it into the response. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  constructor(code: ApiErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }

  get status(): (typeof API_ERRORS)[ApiErrorCode] {
    return API_ERRORS[this.code];
  }
}

/** The error body for `code` and `message`. */
export function apiErrorBody(code: ApiErrorCode, message: string): ApiErrorBody {
  return { error: { code, message } };
}
