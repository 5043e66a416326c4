// whispeer's client for browsers and Node: the native protocol over
// WebSocket binary messages (docs/protocol-native.md).

export { connect, Client, MAX_REFRESH_LEAD } from "./client.js";
export type { ConnectOptions, Credentials, PublishOptions, State, ConnectInfo, ClientEvents, Presence, PresenceClient } from "./client.js";
export { Subscription } from "./subscription.js";
export type { Handler, SubscribeOptions, Position, Subscribed, SubscriptionEvents, SubscriptionState } from "./subscription.js";
export { Message } from "./message.js";
export type { QoS } from "./message.js";
export { Topic, json } from "./typed.js";
export type { Codec } from "./typed.js";
export type { Keyring, KeyFile } from "./keyring.js";
export type { EnvelopeError, EnvelopeErrorCode } from "./envelope.js";
export type { WebSocketConstructor, WebSocketLike } from "./connection.js";
export type { Clock } from "./clock.js";
export {
  WhispeerError,
  ServerError,
  ClosedError,
  DisconnectedError,
  BufferFullError,
  TimeoutError,
  AuthError,
  ProtocolError,
  GapError,
  DeliveryError,
} from "./errors.js";
export type { ErrorCode, DeliveryFailure } from "./errors.js";
export { isPattern, matches } from "./topic.js";
export * as frames from "./frames.js";
