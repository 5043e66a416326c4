// The client's errors: one class, WhispeerError, with a code a caller can
// switch on (the wire error codes), and subclasses for the conditions a
// caller tells apart with instanceof.

import { codeName, type ErrorCode } from "./frames.js";

export type { ErrorCode };

/** WhispeerError is every error the client reports. */
export class WhispeerError extends Error {
  override name = "WhispeerError";
  /** code classifies the error as the wire error codes do. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message.startsWith("whispeer: ") ? message : `whispeer: ${message}`, options);
    this.code = code;
  }
}

/**
 * ServerError is a refusal from the server: an ERROR frame, or a refusal in
 * a SUBACK or PUBACK.
 */
export class ServerError extends WhispeerError {
  override name = "ServerError";
  /** wireCode is the code's number on the wire (1–9, or unknown). */
  readonly wireCode: number;
  /** fatal reports that the server closes the connection after the error. */
  readonly fatal: boolean;
  /** ref is the type of the frame the error answers, or 0. */
  readonly ref: number;
  constructor(wireCode: number, text: string, fatal = false, ref = 0) {
    super(codeName(wireCode), text || `whispeer: server error: ${codeName(wireCode)}`);
    this.wireCode = wireCode;
    this.fatal = fatal;
    this.ref = ref;
  }
}

/** ClosedError: the client or the subscription was closed. */
export class ClosedError extends WhispeerError {
  override name = "ClosedError";
  constructor(message = "client closed") {
    super("unavailable", message);
  }
}

/** DisconnectedError: a publish while disconnected, with buffering off. */
export class DisconnectedError extends WhispeerError {
  override name = "DisconnectedError";
  constructor(message = "disconnected") {
    super("unavailable", message);
  }
}

/** BufferFullError: a publish while disconnected that the buffer has no room for. */
export class BufferFullError extends WhispeerError {
  override name = "BufferFullError";
  constructor() {
    super("limit", "publish buffer full");
  }
}

/** TimeoutError: the server did not answer in time. */
export class TimeoutError extends WhispeerError {
  override name = "TimeoutError";
  constructor(what: string) {
    super("unavailable", `timed out: ${what}`);
  }
}

/** AuthError: the server refused the credentials. */
export class AuthError extends WhispeerError {
  override name = "AuthError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("unauthorized", message, options);
  }
}

/** ProtocolError: a frame from the server that does not parse or is out of place. */
export class ProtocolError extends WhispeerError {
  override name = "ProtocolError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", `protocol error: ${message}`, options);
  }
}

/**
 * GapError: a subscription resumed without recovering every message it
 * missed (the history no longer reached back, or the topic's epoch changed).
 */
export class GapError extends WhispeerError {
  override name = "GapError";
  constructor(readonly pattern: string) {
    super("not_found", `subscription "${pattern}": resume incomplete, messages were missed`);
  }
}

/** Why a delivery was not handled. */
export type DeliveryFailure = "open" | "plaintext" | "type_mismatch" | "slow_consumer" | "too_many_held" | "handler";

/**
 * DeliveryError: a message reached a subscription but was not handled: it
 * did not open, did not decode, found the queue full or (QoS 2) too many
 * deliveries held, or its handler threw.
 */
export class DeliveryError extends WhispeerError {
  override name = "DeliveryError";
  constructor(
    readonly reason: DeliveryFailure,
    readonly pattern: string,
    readonly topic: string,
    readonly id: string,
    cause: unknown,
  ) {
    super(
      reason === "slow_consumer" || reason === "too_many_held" ? "limit" : reason === "handler" ? "internal" : "invalid",
      `subscription "${pattern}": message "${id}" on "${topic}": ${describe(reason, cause)}`,
      { cause },
    );
  }
}

function describe(reason: DeliveryFailure, cause: unknown): string {
  const msg = cause instanceof Error ? cause.message : String(cause);
  switch (reason) {
    case "open":
      return `does not open: ${msg}`;
    case "plaintext":
      return "not sealed, and plaintext is not accepted";
    case "type_mismatch":
      return `does not decode: ${msg}`;
    case "slow_consumer":
      return "slow consumer, message dropped";
    case "too_many_held":
      return `${msg} exactly-once deliveries await the server's release (PUBREL), not handed over until one is released`;
    case "handler":
      return `handler failed: ${msg}`;
  }
}

/** abortError returns the reason signal was aborted with, as an Error. */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return new DOMException(r === undefined ? "aborted" : String(r), "AbortError");
}
