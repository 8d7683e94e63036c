import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { SequencePool } from "./sequence-pool.js";

/** Ids are made here; anything else is never joined into a path. */
const PREFIX_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function sharedLength(a: readonly Token[], b: readonly Token[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * KV states of cached prompt prefixes (context caching), saved to files: a prefix is evaluated
 * once and its sequence state saved; a prompt naming it that lands on a sequence not already
 * holding the prefix gets the state loaded instead of recomputed. A state file is only ever
 * loaded into the model that wrote it (each runner has its own ids and files).
 */
export class PrefixStates {
  /** Each saved prefix's tokens; after a runner restart they are learnt again from the files. */
  private readonly known = new Map<string, readonly Token[]>();
  private ownDir: Promise<string> | undefined;

  constructor(
    private readonly pool: SequencePool,
    /** Where the files go (the server's state dir); a temp dir of our own when absent. */
    private readonly dir?: string,
  ) {}

  /** Saves the state of a sequence that holds exactly the prefix; returns its id. */
  async save(sequence: LlamaContextSequence): Promise<string> {
    const id = randomUUID();
    const file = await this.fileFor(id, true);
    await this.pool.withContextLock(() => sequence.saveStateToFile(file));
    this.known.set(id, [...sequence.contextTokens]);
    return id;
  }

  /**
   * Loads prefix `id` into a sequence about to evaluate `prompt`, unless the sequence already
   * holds as much of the prefix as the prompt shares. A prefix that is gone (dropped, expired)
   * or fails to load leaves the sequence as it is: the prompt is then evaluated in full.
   */
  async restore(sequence: LlamaContextSequence, id: string, prompt: readonly Token[]): Promise<void> {
    if (!PREFIX_ID.test(id) || (!this.dir && !this.ownDir)) return;
    const saved = this.known.get(id);
    if (saved && sequence.compareContextTokens(prompt as Token[]).firstDifferentIndex >= sharedLength(saved, prompt)) return;
    const file = await this.fileFor(id);
    if (!existsSync(file)) return;
    try {
      await this.pool.withContextLock(() => sequence.loadStateFromFile(file, { acceptRisk: true }));
    } catch {
      return; // node-llama-cpp leaves the sequence empty and consistent
    }
    if (!saved) this.known.set(id, [...sequence.contextTokens]);
  }

  async drop(id: string): Promise<void> {
    if (!PREFIX_ID.test(id) || (!this.dir && !this.ownDir)) return;
    this.known.delete(id);
    await rm(await this.fileFor(id), { force: true });
  }

  /** Deletes every state file this engine wrote. */
  async close(): Promise<void> {
    const own = this.ownDir;
    if (own) {
      await rm(await own, { recursive: true, force: true });
      return;
    }
    await Promise.all([...this.known.keys()].map((id) => this.drop(id)));
  }

  /** The file of state `id`; `create` makes its directory first (only saving needs it). */
  private async fileFor(id: string, create = false): Promise<string> {
    if (this.dir) {
      if (create) await mkdir(this.dir, { recursive: true, mode: 0o700 });
      return path.join(this.dir, `${id}.kv`);
    }
    this.ownDir ??= mkdtemp(path.join(os.tmpdir(), "genai-local-kv-"));
    return path.join(await this.ownDir, `${id}.kv`);
  }
}
