/**
 * The one error type every layer throws: a Google status (the Gemini API's code) and a message
 * written for the client. Each surface renders it in its own shape (route-kit/errors.ts).
 */
export type GoogleStatus =
  | "INVALID_ARGUMENT"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "NOT_FOUND"
  | "RESOURCE_EXHAUSTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED"
  | "FAILED_PRECONDITION"
  | "ALREADY_EXISTS";

const HTTP_CODE: Record<GoogleStatus, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  ALREADY_EXISTS: 409,
};

export interface ErrorDetail {
  "@type": string;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly code: number;

  constructor(
    readonly status: GoogleStatus,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
    this.code = HTTP_CODE[status];
  }
}

export const invalidArgument = (message: string, details?: ErrorDetail[]): ApiError =>
  new ApiError("INVALID_ARGUMENT", message, details);
export const notFound = (message: string): ApiError => new ApiError("NOT_FOUND", message);
export const permissionDenied = (message: string): ApiError => new ApiError("PERMISSION_DENIED", message);
export const unauthenticated = (message: string): ApiError => new ApiError("UNAUTHENTICATED", message);
export const unavailable = (message: string): ApiError => new ApiError("UNAVAILABLE", message);

/**
 * What a client is told of a fault that is not its own and that no code here described for it:
 * never the exception's text (that goes to the log, with its stack and the request id).
 */
export const INTERNAL_MESSAGE = "An internal error has occurred.";
/** The same, in the words OpenAI's API uses. */
export const OPENAI_INTERNAL_MESSAGE = "The server had an error while processing your request.";

/** How a message names a field or feature the server does not serve yet: "`x` is not supported by genai-local yet". */
export const NOT_YET = "is not supported by genai-local yet";
