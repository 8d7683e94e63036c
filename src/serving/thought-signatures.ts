import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";

/**
 * Gemini's `thoughtSignature`: opaque to clients, sent back with the turn it came on. Ours carries
 * the thought text of that turn (deflated) under an HMAC, so a function-calling turn's thoughts
 * come back to the model on its next step without the server keeping any state. The key is kept
 * in the server's data directory (useKeyFile), so signatures outlive a restart; a signature from
 * another server or Google reads as foreign and is accepted and ignored, as Google ignores what it
 * cannot use.
 */

const VERSION = 1;
const TAG_BYTES = 16;
/** Thoughts past this size are not carried (the signature would outgrow a request). */
const MAX_THOUGHT_BYTES = 256 * 1024;

const KEY_BYTES = 32;
export const KEY_FILE_NAME = "thought-signing.key";

export class ThoughtSigner {
  private key: Buffer;
  /** Every key this process has signed with: a signature made under an earlier one still opens. */
  private readonly keys: Buffer[];
  /** Where `key` is to be written with the first signature (a data directory that had none). */
  private unsaved: string | undefined;

  constructor(key: Buffer = randomBytes(KEY_BYTES)) {
    this.key = key;
    this.keys = [key];
  }

  /**
   * Signs with the key kept in `file` from now on: read when it exists; otherwise made here and
   * written (0600, its directory 0700) with the first signature, so a server that never signs
   * leaves its data directory alone. Throws when the file is there but is not a key of ours.
   */
  useKeyFile(file: string): void {
    const saved = readKey(file);
    this.adopt(saved ?? randomBytes(KEY_BYTES));
    this.unsaved = saved ? undefined : file;
  }

  /** A signature for a turn whose reasoning was `thought` ("" when it did not think). */
  sign(thought: string): string {
    if (this.unsaved) this.save(this.unsaved);
    const text = Buffer.byteLength(thought) > MAX_THOUGHT_BYTES ? "" : thought;
    const payload = deflateRawSync(Buffer.from(JSON.stringify({ t: text })));
    return Buffer.concat([Buffer.from([VERSION]), this.tag(payload, this.key), payload]).toString("base64");
  }

  /** The thought text a signature of ours carries; undefined for a foreign or altered one. */
  open(signature: string): string | undefined {
    const bytes = Buffer.from(signature, "base64");
    if (bytes.length <= 1 + TAG_BYTES || bytes[0] !== VERSION) return undefined;
    const tag = bytes.subarray(1, 1 + TAG_BYTES);
    const payload = bytes.subarray(1 + TAG_BYTES);
    if (!this.keys.some((key) => timingSafeEqual(tag, this.tag(payload, key)))) return undefined;
    try {
      const { t } = JSON.parse(inflateRawSync(payload, { maxOutputLength: MAX_THOUGHT_BYTES * 2 }).toString()) as { t?: unknown };
      return typeof t === "string" ? t : undefined;
    } catch {
      return undefined;
    }
  }

  private tag(payload: Buffer, key: Buffer): Buffer {
    return createHmac("sha256", key).update(payload).digest().subarray(0, TAG_BYTES);
  }

  private adopt(key: Buffer): void {
    this.key = key;
    if (!this.keys.some((known) => known.equals(key))) this.keys.push(key);
  }

  /** Written once: if another process wrote the file first, its key is the one to use. */
  private save(file: string): void {
    this.unsaved = undefined;
    try {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, `${this.key.toString("base64")}\n`, { flag: "wx", mode: 0o600 });
    } catch (error) {
      // A data directory that cannot be written: signatures then last as long as this process.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") return;
      const saved = readKey(file);
      if (saved) this.adopt(saved);
    }
  }
}

function readKey(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== KEY_BYTES) throw new Error(`${file} is not a thought-signing key (${KEY_BYTES} bytes, base64); remove it and a new one is made.`);
  return key;
}

/**
 * The signer of this process (one key for all routes, so a signature made by one surface opens on
 * another). A server points it at its data directory's key file when it starts; several servers
 * in one process (tests) sign with the last one's key and open all of theirs.
 */
export const thoughtSigner = new ThoughtSigner();
