/** A refusal of the exchange: its ErrorInfo reason (docs/api.md, Errors) and message. */
import type { RpcStatus } from "./types";

export class ApiError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly httpStatus: number,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** "PRICE_OUTSIDE_BAND: price outside the band ..." as shown to the user. */
  get display(): string {
    return this.message ? `${this.reason}: ${this.message}` : this.reason;
  }
}

interface Detail {
  "@type"?: string;
  reason?: string;
  field_violations?: { field?: string }[];
  fieldViolations?: { field?: string }[];
}

/** The ApiError of an error body (a google.rpc.Status) and its HTTP status. */
export function errorOf(body: unknown, httpStatus: number): ApiError {
  const status = (typeof body === "object" && body !== null ? body : {}) as RpcStatus;
  const details = (status.details ?? []) as Detail[];
  const info = details.find((detail) => detail["@type"]?.endsWith("google.rpc.ErrorInfo"));
  const request = details.find((detail) => detail["@type"]?.endsWith("google.rpc.BadRequest"));
  const violations = request?.field_violations ?? request?.fieldViolations ?? [];
  const reason = info?.reason ?? (httpStatus === 502 || httpStatus === 503 ? "BACKEND_UNAVAILABLE" : `HTTP_${httpStatus}`);
  return new ApiError(reason, status.message ?? "", httpStatus, violations[0]?.field);
}
