import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";

/**
 * Gemini's `thoughtSignature`: opaque to clients, sent back with the turn it came on. Ours carries
 * the thought text of that turn (deflated) under an HMAC, so a function-calling turn's thoughts
 * come back to the model on its next step without the server keeping any state. The key is this
 * process's own: a signature from another server, an older run or Google reads as foreign and is
 * accepted and ignored, as Google ignores what it cannot use.
 */

const VERSION = 1;
const TAG_BYTES = 16;
/** Thoughts past this size are not carried (the signature would outgrow a request). */
const MAX_THOUGHT_BYTES = 256 * 1024;

export class ThoughtSigner {
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  /** A signature for a turn whose reasoning was `thought` ("" when it did not think). */
  sign(thought: string): string {
    const text = Buffer.byteLength(thought) > MAX_THOUGHT_BYTES ? "" : thought;
    const payload = deflateRawSync(Buffer.from(JSON.stringify({ t: text })));
    return Buffer.concat([Buffer.from([VERSION]), this.tag(payload), payload]).toString("base64");
  }

  /** The thought text a signature of ours carries; undefined for a foreign or altered one. */
  open(signature: string): string | undefined {
    const bytes = Buffer.from(signature, "base64");
    if (bytes.length <= 1 + TAG_BYTES || bytes[0] !== VERSION) return undefined;
    const tag = bytes.subarray(1, 1 + TAG_BYTES);
    const payload = bytes.subarray(1 + TAG_BYTES);
    if (!timingSafeEqual(tag, this.tag(payload))) return undefined;
    try {
      const { t } = JSON.parse(inflateRawSync(payload, { maxOutputLength: MAX_THOUGHT_BYTES * 2 }).toString()) as { t?: unknown };
      return typeof t === "string" ? t : undefined;
    } catch {
      return undefined;
    }
  }

  private tag(payload: Buffer): Buffer {
    return createHmac("sha256", this.key).update(payload).digest().subarray(0, TAG_BYTES);
  }
}

/** The signer of this process (one key for all routes, so a signature made by one surface opens on another). */
export const thoughtSigner = new ThoughtSigner();
