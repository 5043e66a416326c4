// A whispeer client in Node: connect with a login, subscribe to a typed
// topic, publish to it at QoS 1, and close, which flushes.
//
//	cd js && npm ci && npm run build && cd ../examples/js-node && npm install
//	whispeer serve &                      # in another terminal
//	node main.mjs                         # or WHISPEER_URL=ws://host:8080/ws node main.mjs
import { connect } from "whispeer";
import { WebSocket } from "ws"; // Node 20 has no global WebSocket; browsers and Node 22 need none

const url = process.env.WHISPEER_URL ?? "ws://127.0.0.1:8080/ws";
const user = process.env.WHISPEER_USER ?? "admin";
const password = process.env.WHISPEER_PASSWORD ?? "password";

const c = await connect(url, { username: user, password }, { WebSocket });
c.on("state", (state) => console.log(`connection: ${state}`));
c.on("error", (err) => console.error(`error (${err.code}): ${err.message}`));

/** @type {import("whispeer").Topic<{ id: number; item: string }>} */
const orders = c.topic(`examples/orders/${process.pid}`);
let left = 3;
const done = new Promise((resolve) => {
  const sub = orders.subscribe((order, msg) => {
    console.log(`order ${order.id}: ${order.item} (offset ${msg.offset})`);
    if (--left === 0) {
      sub.unsubscribe();
      resolve();
    }
  });
});

for (const [id, item] of [[1, "tea"], [2, "cake"], [3, "scone"]]) {
  await orders.publish({ id, item }, { qos: 1 }); // resolves at the server's PUBACK
}
await done;
await c.close();
