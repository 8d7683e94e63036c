import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { newStateDir, removeStateDir } from "../state-dirs.js";
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
export class SavedPrefixes {
  /** Each saved prefix's tokens; after a runner restart they are learnt again from the files. */
  private readonly known = new Map<string, readonly Token[]>();
  /** Where the files go: the server's state dir, or one of this engine's own (removed on close). */
  private readonly dir: string;
  private readonly ownDir: boolean;

  constructor(
    private readonly pool: SequencePool,
    dir?: string,
  ) {
    // A state dir of its own is named like a server's, so that one left by a killed process is
    // removed by the next server started on the machine (see state-dirs).
    this.dir = dir ?? newStateDir(os.tmpdir());
    this.ownDir = dir === undefined;
  }

  /** Saves the state of a sequence that holds exactly the prefix; returns its id. */
  async save(sequence: LlamaContextSequence): Promise<string> {
    const id = randomUUID();
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileFor(id);
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
    if (!PREFIX_ID.test(id)) return;
    const saved = this.known.get(id);
    if (saved && sequence.compareContextTokens(prompt as Token[]).firstDifferentIndex >= sharedLength(saved, prompt)) return;
    const file = this.fileFor(id);
    if (!existsSync(file)) return;
    try {
      await this.pool.withContextLock(() => sequence.loadStateFromFile(file, { acceptRisk: true }));
    } catch {
      return; // node-llama-cpp leaves the sequence empty and consistent
    }
    if (!saved) this.known.set(id, [...sequence.contextTokens]);
  }

  async drop(id: string): Promise<void> {
    if (!PREFIX_ID.test(id)) return;
    this.known.delete(id);
    await rm(this.fileFor(id), { force: true });
  }

  /** Deletes every state file this engine wrote. */
  async close(): Promise<void> {
    if (this.ownDir) await removeStateDir(this.dir);
    else await Promise.all([...this.known.keys()].map((id) => this.drop(id)));
  }

  private fileFor(id: string): string {
    return path.join(this.dir, `${id}.kv`);
  }
}
