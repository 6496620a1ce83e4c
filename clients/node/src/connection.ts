// Channel credentials, the caller's token, promises for unary calls, and the
// google.rpc error details of a failed call.
import { readFileSync } from "node:fs";
import {
  type CallOptions,
  type ChannelCredentials,
  type ClientUnaryCall,
  Metadata,
  type ServiceError,
  credentials,
} from "@grpc/grpc-js";
import { BadRequest, ErrorInfo, Status } from "./api.js";

const DETAILS_TRAILER = "grpc-status-details-bin";
const TYPE_PREFIX = "type.googleapis.com/";

export interface TlsFiles {
  /** The server's certificate authority (stx serve writes data/tls/ca.pem). */
  ca?: string;
  /** A client certificate and key, for a server that requires one. */
  cert?: string;
  key?: string;
}

/** TLS with the given authority, or plaintext when `tls` is undefined. */
export function channelCredentials(tls: TlsFiles | undefined): ChannelCredentials {
  if (tls === undefined) {
    return credentials.createInsecure();
  }
  const read = (path: string | undefined) => (path === undefined ? null : readFileSync(path));
  return credentials.createSsl(read(tls.ca), read(tls.key), read(tls.cert));
}

/** The metadata of a signed-in call. */
export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** Call options with a deadline `seconds` from now. */
export function within(seconds: number): Partial<CallOptions> {
  return { deadline: Date.now() + seconds * 1000 };
}

type Unary<Request, Response> = (
  request: Request,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Response) => void,
) => ClientUnaryCall;

/** A unary call of a generated client as a promise (10 s deadline). */
export function call<Request, Response>(
  method: Unary<Request, Response>,
  request: Request,
  metadata: Metadata = new Metadata(),
): Promise<Response> {
  return new Promise((resolve, reject) => {
    method(request, metadata, within(10), (error, response) => {
      if (error) {
        reject(error);
      } else {
        resolve(response);
      }
    });
  });
}

/** What a failed call says beyond its status code (docs/api.md, "Refusals"). */
export interface ErrorDetails {
  code: number;
  message: string;
  errorInfo?: ErrorInfo;
  badRequest?: BadRequest;
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && "code" in error && "metadata" in error;
}

/** Decode the google.rpc.Status the server put in the call's trailers. */
export function errorDetails(error: ServiceError): ErrorDetails {
  const found: ErrorDetails = { code: error.code, message: error.details };
  const [raw] = error.metadata.get(DETAILS_TRAILER);
  if (raw === undefined || typeof raw === "string") {
    return found;
  }
  const status = Status.decode(raw);
  found.message = status.message;
  for (const detail of status.details) {
    switch (detail.typeUrl) {
      case `${TYPE_PREFIX}google.rpc.ErrorInfo`:
        found.errorInfo = ErrorInfo.decode(detail.value);
        break;
      case `${TYPE_PREFIX}google.rpc.BadRequest`:
        found.badRequest = BadRequest.decode(detail.value);
        break;
      default:
        break; // a detail this client does not use
    }
  }
  return found;
}
