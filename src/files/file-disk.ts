import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { randomId } from "../base/random-id.js";

/**
 * The on-disk layout of uploaded files: `<dataDir>/files/<id>.bin` holds the bytes, `<id>.json`
 * what the File resource says, and `<dataDir>/uploads/<uploadId>.part` an upload in progress. A
 * file is whole only once both of its pieces are in place, each written under a temporary name
 * and renamed (bytes first, metadata last), so a crash mid-write leaves nothing that is served.
 * Which files exist, quotas and expiry are the store's business (file-store.ts), not this one's.
 */
export interface StoredFile {
  id: string;
  displayName?: string;
  mimeType: string;
  sizeBytes: number;
  /** ms since the epoch */
  createTime: number;
  updateTime: number;
  expirationTime: number;
  /** SHA-256 of the bytes: its hex digest in base64, as Google gives it. */
  sha256Hash: string;
}

async function writeAtomically(target: string, data: string): Promise<void> {
  const temporary = `${target}.${randomId(6, "hex")}.tmp`;
  const handle = await open(temporary, "w", 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, target);
}

/** Google's encoding: the base64 of the lowercase hex digest (not of the 32 raw bytes). */
async function sha256Base64OfHex(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const piece of createReadStream(file)) hash.update(piece as Buffer);
  return Buffer.from(hash.digest("hex")).toString("base64");
}

export class FileDisk {
  private readonly filesDir: string;
  private readonly uploadsDir: string;
  private madeDirs = false;

  constructor(private readonly dataDir: string) {
    this.filesDir = path.join(dataDir, "files");
    this.uploadsDir = path.join(dataDir, "uploads");
  }

  private dataPath(id: string): string {
    return path.join(this.filesDir, `${id}.bin`);
  }

  private metaPath(id: string): string {
    return path.join(this.filesDir, `${id}.json`);
  }

  private partPath(uploadId: string): string {
    return path.join(this.uploadsDir, `${uploadId}.part`);
  }

  /** Created (0700) on the first upload: a server that is never sent a file writes nothing. */
  private async ensureDirs(): Promise<void> {
    if (this.madeDirs) return;
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(this.filesDir, { recursive: true, mode: 0o700 });
    await mkdir(this.uploadsDir, { recursive: true, mode: 0o700 });
    this.madeDirs = true;
  }

  /** What earlier runs left: whole files not expired at `now` are returned, everything else in files/ removed. */
  async loadWhole(now: number): Promise<StoredFile[]> {
    const names = await readdir(this.filesDir).catch(() => [] as string[]);
    const whole: StoredFile[] = [];
    const kept = new Set<string>();
    for (const name of names.filter((n) => n.endsWith(".json"))) {
      try {
        const file = JSON.parse(await readFile(path.join(this.filesDir, name), "utf8")) as StoredFile;
        const size = (await stat(this.dataPath(file.id))).size;
        if (`${file.id}.json` !== name || size !== file.sizeBytes || file.expirationTime <= now) continue;
        whole.push(file);
        kept.add(`${file.id}.json`).add(`${file.id}.bin`);
      } catch {
        // unreadable metadata or no bytes: not a whole file
      }
    }
    await Promise.all(names.filter((n) => !kept.has(n)).map((n) => rm(path.join(this.filesDir, n), { force: true })));
    return whole;
  }

  /** Parts of uploads a server ended without finishing (killed, restarted), untouched for `maxAgeMs`. */
  async removeStaleParts(maxAgeMs: number, now: number): Promise<void> {
    const names = await readdir(this.uploadsDir).catch(() => [] as string[]);
    for (const name of names) {
      const part = path.join(this.uploadsDir, name);
      const modified = (await stat(part).catch(() => undefined))?.mtimeMs;
      if (modified !== undefined && now - modified > maxAgeMs) await rm(part, { force: true });
    }
  }

  async createPart(uploadId: string): Promise<void> {
    await this.ensureDirs();
    await writeFile(this.partPath(uploadId), new Uint8Array(), { mode: 0o600 });
  }

  async openPart(uploadId: string): Promise<FileHandle> {
    return open(this.partPath(uploadId), "r+");
  }

  async removePart(uploadId: string): Promise<void> {
    await rm(this.partPath(uploadId), { force: true });
  }

  /** A finished part becomes the bytes of file `meta.id`, its hash taken, its metadata written last. */
  async commitPart(uploadId: string, meta: Omit<StoredFile, "sha256Hash">): Promise<StoredFile> {
    const part = this.partPath(uploadId);
    const file: StoredFile = { ...meta, sha256Hash: await sha256Base64OfHex(part) };
    await rename(part, this.dataPath(file.id));
    await writeAtomically(this.metaPath(file.id), JSON.stringify(file));
    return file;
  }

  async removeFile(id: string): Promise<void> {
    await rm(this.metaPath(id), { force: true });
    await rm(this.dataPath(id), { force: true });
  }

  read(id: string): Promise<Buffer> {
    return readFile(this.dataPath(id));
  }

  stream(id: string): Readable {
    return createReadStream(this.dataPath(id));
  }
}
