import { invalidArgument } from "./api-error.js";

/**
 * How deeply arrays and objects may nest in a request body (the top-level object is level 1).
 * Google's protobuf-based API refuses messages nested beyond 100 levels; real requests stay far
 * below (a 40-level responseSchema fits), and every recursive walk after the guard (validation,
 * key normalisation, schema-to-grammar conversion, JSON.stringify) is safe at this depth.
 */
export const MAX_JSON_DEPTH = 100;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Where the string that opens at `open` (a quote) ends: its closing quote, or -1 if it never closes. */
function stringEnd(text: string, open: number): number {
  // Short strings (keys, small values) are walked; a long one's quotes are found by indexOf.
  let from = open + 1;
  for (const walked = Math.min(text.length, from + 32); from < walked; from++) {
    const c = text.charCodeAt(from);
    if (c === BACKSLASH) from++;
    else if (c === QUOTE) return from;
  }
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return -1;
    // The quote is escaped when an odd number of backslashes stands before it (counted back
    // no further than where this search began, so the whole scan stays linear).
    let slashes = 0;
    for (let i = quote - 1; i >= from && text.charCodeAt(i) === BACKSLASH; i--) slashes++;
    if (slashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/**
 * Whether JSON text nests arrays and objects deeper than `limit`, found by one scan over the
 * text (brackets inside strings do not count) with no recursion, so no input can overflow it.
 * It does not validate: text it passes may still be refused by JSON.parse. Any JSON surface
 * (HTTP bodies, WebSocket frames) can run it before JSON.parse.
 */
export function exceedsJsonDepth(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) return false;
      i = end;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > limit) return true;
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) {
      depth--;
    }
  }
  return false;
}

/** The 400 for a body nested too deeply, naming the limit. */
export function tooDeepError(limit = MAX_JSON_DEPTH) {
  return invalidArgument(
    `Invalid JSON payload received. The payload nests arrays and objects more than ${limit} levels deep; the limit is ${limit}.`,
  );
}

/** JSON.parse behind the depth guard: a body nested deeper than `limit` is a 400 (ApiError), bad JSON a SyntaxError. */
export function parseJsonText(text: string, limit = MAX_JSON_DEPTH): unknown {
  if (exceedsJsonDepth(text, limit)) throw tooDeepError(limit);
  return JSON.parse(text);
}
