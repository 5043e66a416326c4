// whispeer's client for browsers and Node: the native protocol over
// WebSocket binary messages (docs/protocol-native.md).

export * as frames from "./frames.js";
