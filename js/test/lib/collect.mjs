// collector, shared by the tests in Node and by the pages in Chromium
// (served from the package's directory): no imports, plain JavaScript.

/**
 * collector returns { got, push, until, untilText, untilSome }: push adds
 * an item (a subscription's handler), and the until functions resolve
 * with got once it holds k items, an item whose text() is t, or one for
 * which pred is true.
 */
export function collector() {
  const got = [];
  const waiters = [];
  const push = (m) => {
    got.push(m);
    for (const w of waiters.splice(0)) w();
  };
  const untilSome = async (pred) => {
    while (!got.some(pred)) await new Promise((r) => waiters.push(r));
    return got;
  };
  const until = async (k) => {
    while (got.length < k) await new Promise((r) => waiters.push(r));
    return got;
  };
  const untilText = (t) => untilSome((m) => m.text() === t);
  return { got, push, until, untilText, untilSome };
}
