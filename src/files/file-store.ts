import { randomInt } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { randomId } from "../base/random-id.js";
import { FileDisk, type StoredFile } from "./file-disk.js";
import { DEFAULTS } from "../base/config.js";

export type { StoredFile } from "./file-disk.js";

/**
 * Uploaded files: which exist, the quotas and the expiry, and the uploads in progress (held in
 * memory only: a restart ends them, as their clients then start again). Bytes and metadata are
 * on disk (file-disk.ts), so whole files survive a restart until they expire. One server per
 * data directory: a second one would not see the first one's new files until it restarts.
 */
export interface UploadSession {
  id: string;
  fileId: string;
  displayName?: string;
  mimeType: string;
  /** Declared at start (X-Goog-Upload-Header-Content-Length). */
  sizeBytes: number;
  received: number;
  lastActive: number;
  /** A chunk is being written: a second one at the same time is refused. */
  busy: boolean;
  done?: StoredFile;
}

export interface FileStoreOptions {
  dataDir: string;
  /** Largest single file. */
  maxFileBytes: number;
  /** All files together, uploads in progress counted at their declared size. */
  maxTotalBytes: number;
  /** How long a file lives (Google: 48 hours). */
  ttlMs: number;
  /** An upload nobody has sent to for this long is dropped (and its reservation freed). */
  idleUploadMs?: number;
  now?: () => number;
}

export const DEFAULT_FILE_TTL_MS = DEFAULTS.fileTtlMs;
export const DEFAULT_MAX_FILE_BYTES = DEFAULTS.maxFileBytes;
export const DEFAULT_MAX_TOTAL_BYTES = DEFAULTS.maxTotalFileBytes;
const DEFAULT_IDLE_UPLOAD_MS = 24 * 3600_000;

/** What the store refuses, for the routes to word in Google's terms. */
export class FileStoreError extends Error {
  constructor(
    readonly kind: "not-found" | "too-large" | "quota" | "offset" | "size" | "busy" | "exists" | "finished",
    message: string,
    readonly received?: number,
  ) {
    super(message);
    this.name = "FileStoreError";
  }
}

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const newFileId = (): string => Array.from({ length: 12 }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join("");
/** Google's rule for a chosen name: lowercase letters, digits and dashes, at most 40, no dash at either end. */
export const VALID_FILE_ID = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

export class FileStore {
  private readonly files = new Map<string, StoredFile>();
  private readonly uploads = new Map<string, UploadSession>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly disk: FileDisk;

  private constructor(private readonly options: FileStoreOptions) {
    this.now = options.now ?? Date.now;
    this.disk = new FileDisk(options.dataDir);
    this.sweeper = setInterval(() => void this.sweep(), Math.min(60_000, Math.max(250, options.ttlMs / 4)));
    this.sweeper.unref();
  }

  /** Reads what earlier runs left: whole files are kept (until they expire), the rest removed. Makes nothing until the first upload. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const store = new FileStore(options);
    // Parts a stopped server left: their uploads ended with it.
    await store.disk.removeStaleParts(Math.min(options.idleUploadMs ?? DEFAULT_IDLE_UPLOAD_MS, 3600_000), store.now());
    for (const file of await store.disk.loadWhole(store.now())) store.files.set(file.id, file);
    return store;
  }

  /** Bytes held and promised: stored files, and uploads in progress at their declared size. */
  usedBytes(): number {
    let used = 0;
    for (const file of this.files.values()) used += file.sizeBytes;
    for (const upload of this.uploads.values()) if (!upload.done) used += upload.sizeBytes;
    return used;
  }

  private checkRoom(sizeBytes: number): void {
    if (sizeBytes > this.options.maxFileBytes) {
      throw new FileStoreError("too-large", `The file is ${sizeBytes} bytes; this server takes files of at most ${this.options.maxFileBytes} bytes.`);
    }
    const used = this.usedBytes();
    if (used + sizeBytes > this.options.maxTotalBytes) {
      throw new FileStoreError(
        "quota",
        `File storage quota exceeded: ${used} of ${this.options.maxTotalBytes} bytes are in use and the file needs ${sizeBytes}. Delete files or wait for them to expire.`,
      );
    }
  }

  private claimId(requested?: string): string {
    if (requested !== undefined) {
      if (this.files.has(requested) || [...this.uploads.values()].some((u) => u.fileId === requested)) {
        throw new FileStoreError("exists", `A file named files/${requested} already exists.`);
      }
      return requested;
    }
    let id = newFileId();
    while (this.files.has(id)) id = newFileId();
    return id;
  }

  /** Opens a resumable upload (its bytes come later, in chunks). */
  async startUpload(meta: { id?: string; displayName?: string; mimeType: string; sizeBytes: number }): Promise<UploadSession> {
    await this.sweep();
    this.checkRoom(meta.sizeBytes);
    const session: UploadSession = {
      id: randomId(24),
      fileId: this.claimId(meta.id),
      displayName: meta.displayName,
      mimeType: meta.mimeType,
      sizeBytes: meta.sizeBytes,
      received: 0,
      lastActive: this.now(),
      busy: false,
    };
    await this.disk.createPart(session.id);
    this.uploads.set(session.id, session);
    return session;
  }

  upload(uploadId: string): UploadSession | undefined {
    return this.uploads.get(uploadId);
  }

  /**
   * Appends one chunk at `offset`, which must be what the server has so far. Bytes that arrived
   * before the connection dropped are kept (a `query` tells the client where to go on); bytes past
   * the declared size are refused. With `finalize` the file becomes whole and is returned.
   */
  async appendChunk(uploadId: string, offset: number, body: Readable, finalize: boolean): Promise<UploadSession> {
    const session = this.uploads.get(uploadId);
    if (!session) throw new FileStoreError("not-found", "No upload with this id is in progress here (it finished, was cancelled, expired, or the server restarted).");
    if (session.done) throw new FileStoreError("finished", "This upload has already been finalized.", session.received);
    if (session.busy) throw new FileStoreError("busy", "Another chunk of this upload is being received; send chunks one after another.", session.received);
    if (offset !== session.received) {
      body.resume();
      throw new FileStoreError("offset", `Invalid X-Goog-Upload-Offset ${offset}: the server has received ${session.received} bytes; continue from there.`, session.received);
    }
    session.busy = true;
    let handle: FileHandle | undefined;
    try {
      handle = await this.disk.openPart(session.id);
      for await (const piece of body as AsyncIterable<Buffer>) {
        if (session.received + piece.length > session.sizeBytes) {
          body.resume();
          await handle.truncate(offset);
          session.received = offset;
          throw new FileStoreError("size", `The upload is larger than the ${session.sizeBytes} bytes declared at its start.`, offset);
        }
        await handle.write(piece, 0, piece.length, session.received);
        session.received += piece.length;
      }
      if (finalize) {
        if (session.received !== session.sizeBytes) {
          throw new FileStoreError("size", `The upload was finalized with ${session.received} bytes; ${session.sizeBytes} were declared at its start.`, session.received);
        }
        await handle.sync();
        await handle.close();
        handle = undefined;
        session.done = await this.commit(session);
      }
      return session;
    } finally {
      session.busy = false;
      session.lastActive = this.now();
      await handle?.close().catch(() => undefined);
    }
  }

  /** A one-request upload (multipart or raw): the bytes are all here. */
  async putWhole(meta: { id?: string; displayName?: string; mimeType: string }, bytes: Buffer): Promise<StoredFile> {
    const session = await this.startUpload({ ...meta, sizeBytes: bytes.length });
    try {
      const done = await this.appendChunk(session.id, 0, Readable.from([bytes]), true);
      return done.done!;
    } finally {
      this.uploads.delete(session.id);
    }
  }

  cancel(uploadId: string): boolean {
    const session = this.uploads.get(uploadId);
    if (!session) return false;
    this.uploads.delete(uploadId);
    void this.disk.removePart(uploadId);
    return true;
  }

  private async commit(session: UploadSession): Promise<StoredFile> {
    const now = this.now();
    const file = await this.disk.commitPart(session.id, {
      id: session.fileId,
      ...(session.displayName ? { displayName: session.displayName } : {}),
      mimeType: session.mimeType,
      sizeBytes: session.sizeBytes,
      createTime: now,
      updateTime: now,
      expirationTime: now + this.options.ttlMs,
    });
    this.files.set(file.id, file);
    return file;
  }

  get(id: string): StoredFile | undefined {
    const file = this.files.get(id);
    if (file && file.expirationTime <= this.now()) {
      void this.remove(id);
      return undefined;
    }
    return file;
  }

  /** Newest first; `pageToken` is the id the previous page ended before. */
  list(pageSize: number, pageToken?: string): { files: StoredFile[]; nextPageToken?: string } {
    const now = this.now();
    const all = [...this.files.values()].filter((f) => f.expirationTime > now).sort((a, b) => b.createTime - a.createTime || (a.id < b.id ? -1 : 1));
    const start = pageToken === undefined ? 0 : all.findIndex((f) => f.id === pageToken);
    if (start === -1) return { files: [] };
    const files = all.slice(start, start + pageSize);
    const next = all[start + pageSize];
    return next ? { files, nextPageToken: next.id } : { files };
  }

  read(id: string): Promise<Buffer> {
    return this.disk.read(id);
  }

  stream(id: string): Readable {
    return this.disk.stream(id);
  }

  async remove(id: string): Promise<boolean> {
    if (!this.files.delete(id)) return false;
    await this.disk.removeFile(id);
    return true;
  }

  /** Deletes expired files and drops idle uploads. */
  async sweep(): Promise<void> {
    const now = this.now();
    for (const file of [...this.files.values()]) if (file.expirationTime <= now) await this.remove(file.id);
    const idle = this.options.idleUploadMs ?? DEFAULT_IDLE_UPLOAD_MS;
    for (const upload of [...this.uploads.values()]) {
      if (!upload.busy && (upload.done ? now - upload.lastActive > 60_000 : now - upload.lastActive > idle)) this.cancel(upload.id);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
