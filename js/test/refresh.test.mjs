// Refreshing a token on the live connection, with getToken, on a fake
// clock: before the token expires, the client sends a new one in an AUTH.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../dist/index.js";
import { T } from "../dist/frames.js";
import { FakeClock, FakeServer, settle } from "./lib/fake.mjs";

const HOUR = 3_600_000;
const auths = (ws) => ws.frames.filter((f) => f.type === T.Auth).map((f) => f.token);

// A server whose tokens "jwt-N" expire an hour after the clock's time
// when they were minted.
const setup = async (getToken) => {
  const server = new FakeServer();
  const clock = new FakeClock();
  const minted = new Map();
  server.expires = (token) => BigInt(minted.get(token) + HOUR) * 1_000_000n;
  let n = 0;
  const c = await connect(
    "ws://fake/ws",
    {
      getToken: async () => {
        const t = await getToken(++n);
        minted.set(t, clock.now());
        return t;
      },
    },
    { WebSocket: server.WebSocket, clock, random: () => 0 },
  );
  const errors = [];
  c.on("error", (e) => errors.push(e));
  return { server, clock, c, errors };
};

test("getToken refreshes the token before it expires, on the same connection", async () => {
  const { server, clock, c, errors } = await setup(async (n) => `jwt-${n}`);
  await clock.advance(55 * 60_000 - 1);
  assert.deepEqual(auths(server.last), ["jwt-1"], "nothing before a fifth of the life (at most 5 min) ahead of exp");
  await clock.advance(1);
  assert.deepEqual(auths(server.last), ["jwt-1", "jwt-2"]);
  await clock.advance(2 * 55 * 60_000);
  assert.deepEqual(auths(server.last), ["jwt-1", "jwt-2", "jwt-3", "jwt-4"], "each AUTHOK re-arms the next refresh");
  assert.equal(server.sockets.length, 1, "no reconnection");
  assert.equal(c.state, "connected");
  assert.deepEqual(errors, []);
  await c.close();
});

test("a refused refresh is reported and tried again halfway to the expiry", async () => {
  const { server, clock, c, errors } = await setup(async (n) => `jwt-${n}`);
  server.declineToken = "jwt-2";
  await clock.advance(55 * 60_000);
  assert.deepEqual(auths(server.last), ["jwt-1", "jwt-2"]);
  assert.equal(errors.length, 1);
  await clock.advance(150_000); // half of the 5 minutes left
  assert.deepEqual(auths(server.last), ["jwt-1", "jwt-2", "jwt-3"]);
  assert.equal(c.state, "connected");
  await c.close();
});

test("a failing getToken is reported and tried again; a closed client refreshes nothing", async () => {
  let fail = true;
  const { server, clock, c, errors } = await setup(async (n) => {
    if (n > 1 && fail) throw new Error("backend down");
    return `jwt-${n}`;
  });
  await clock.advance(55 * 60_000);
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /token refresh: backend down/);
  fail = false;
  await clock.advance(150_000);
  assert.deepEqual(auths(server.last), ["jwt-1", "jwt-3"]);
  await c.close();
  await settle();
  assert.deepEqual(clock.pending(), [], "no timer left behind");
});
