import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/**
 * `bytes` random bytes from the CSPRNG as text: response, call and cache ids. The bytes come
 * from a pool refilled 4 KiB at a time, so a request costs one call into the CSPRNG per few
 * hundred ids instead of one per id (as crypto.randomUUID pools its own).
 */
export function randomId(bytes: number, encoding: "base64url" | "hex" = "base64url"): string {
  if (bytes > POOL_BYTES) throw new RangeError(`randomId: at most ${POOL_BYTES} bytes`);
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const id = pool.toString(encoding, used, used + bytes);
  used += bytes;
  return id;
}
