// Topic and pattern checks, as the broker makes them (internal/match), done
// early so that a bad name fails the call rather than the connection.

import { utf8Length } from "./bytes.js";
import { WhispeerError } from "./errors.js";

const MAX_TOPIC = 0xffff;

/** isWildcard reports whether a level is a wildcard: "+", "*" or "#". */
function isWildcard(level: string): boolean {
  return level === "+" || level === "*" || level === "#";
}

/** isPattern reports whether s has a wildcard level. */
export function isPattern(s: string): boolean {
  return s.split("/").some(isWildcard);
}

/** matches reports whether pattern matches topic. */
export function matches(pattern: string, topic: string): boolean {
  const p = pattern.split("/");
  const t = topic.split("/");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === "#" && i === p.length - 1) return true;
    if (i >= t.length) return false;
    if (p[i] !== t[i] && p[i] !== "+" && p[i] !== "*") return false;
  }
  return p.length === t.length;
}

function check(s: string, what: string): string[] {
  if (s === "") throw new WhispeerError("invalid", `invalid ${what}: empty`);
  if (utf8Length(s) > MAX_TOPIC) throw new WhispeerError("invalid", `invalid ${what}: longer than ${MAX_TOPIC} bytes`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new WhispeerError("invalid", `invalid ${what} "${s}": control character`);
  }
  return s.split("/");
}

/** validateTopic throws a WhispeerError (code invalid) unless topic can be published to. */
export function validateTopic(topic: string): void {
  for (const level of check(topic, "topic")) {
    if (/[+*#]/.test(level)) throw new WhispeerError("invalid", `invalid topic "${topic}": wildcard`);
  }
}

/** validatePattern throws a WhispeerError (code invalid) unless pattern can be subscribed to. */
export function validatePattern(pattern: string): void {
  const levels = check(pattern, "pattern");
  levels.forEach((level, i) => {
    if (level === "#" && i !== levels.length - 1) {
      throw new WhispeerError("invalid", `invalid pattern "${pattern}": "#" before the last level`);
    }
    if (!isWildcard(level) && /[+*#]/.test(level)) {
      throw new WhispeerError("invalid", `invalid pattern "${pattern}": a wildcard must be a whole level`);
    }
  });
}
