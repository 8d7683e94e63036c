import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, rm, rmdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { EngineError } from "../engine.js";
import { newStateDir, removeStateDir } from "../state-dirs.js";
import type { ServerEndpoints } from "./server-endpoints.js";

/** Ids are made here; anything else is never joined into a path. */
const PREFIX_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** State directories a llama-server is being started with, and whether that start made the directory. */
const starting = new Map<string, { count: number; made: boolean }>();

/** A slot a request was given: `slot` is absent when llama-server is left to choose. */
export interface SlotLease {
  slot?: number;
  release(): void;
}

/**
 * Cached contents' KV states on the llama-server engine, saved as files as the node-llama-cpp
 * engine saves them (one file per cached content in the server's state directory, deleted with
 * it): a prefix is evaluated into a slot and the slot saved (`/slots/ID?action=save`); a prompt
 * naming it is sent to a slot that holds it, or to one the file is restored into first. What a
 * slot holds is known only from what happened here; any request sent without a slot may have
 * taken any free one, so it makes every free slot unknown again (a needless restore costs a file
 * read; llama-server's state files carry their tokens, so a slot holding something else only
 * costs the prompt's evaluation, never a wrong answer).
 */
export class SlotStates {
  /** Each saved prefix's tokens. */
  private readonly known = new Map<string, number>();
  /** The saved prefix each slot is known to start with. */
  private readonly holds = new Map<number, string>();
  /** Slots given to a request and not yet released. */
  private readonly leased = new Set<number>();
  /** The server's state dir, or one of this engine's own (removed on close). */
  readonly dir: string;
  private readonly ownDir: boolean;

  constructor(
    private readonly slots: number,
    dir?: string,
  ) {
    // Named like a server's, so that one left by a killed process is removed by the next server (see state-dirs).
    this.dir = dir ?? newStateDir(os.tmpdir());
    this.ownDir = dir === undefined;
  }

  /**
   * Runs `start` (a llama-server given `--slot-save-path DIR`, which must exist when it starts)
   * with the directory there. One made for it is removed again afterwards, unless a state was
   * saved meanwhile, so that a server which never saves a state leaves nothing, as on node-llama-cpp.
   */
  async whileStarting<T>(start: () => Promise<T>): Promise<T> {
    let entry = starting.get(this.dir);
    if (!entry) starting.set(this.dir, (entry = { count: 0, made: false }));
    entry.count++;
    try {
      if ((await mkdir(this.dir, { recursive: true, mode: 0o700 })) !== undefined) entry.made = true;
      return await start();
    } finally {
      if (--entry.count === 0) {
        starting.delete(this.dir);
        if (entry.made) await rmdir(this.dir).catch(() => {}); // not empty: a state was saved
      }
    }
  }

  /** Evaluates `text` (of `tokens` tokens) into a free slot and saves that slot's state; returns its id. */
  async save(endpoints: ServerEndpoints, text: string, tokens: number): Promise<string> {
    const id = randomUUID();
    const lease = await this.lease(endpoints, undefined, true);
    try {
      const slot = lease.slot ?? 0;
      this.holds.delete(slot);
      for (let attempt = 1; ; attempt++) {
        await endpoints.evaluate(text, slot);
        let saved: number;
        try {
          await this.ownedDir(true);
          saved = await endpoints.saveSlot(slot, this.fileName(id));
        } catch (error) {
          // The directory made for a starting llama-server can be removed just before the first save.
          if (error instanceof EngineError || attempt >= 3) throw error;
          continue;
        }
        // A request sent without a slot may have taken the slot between the two calls: then again.
        if (saved >= tokens || attempt >= 3) break;
      }
      this.holds.set(slot, id);
      this.known.set(id, tokens);
      return id;
    } finally {
      lease.release();
    }
  }

  /**
   * A slot for a request whose prompt starts with saved prefix `id` (undefined: none): one that
   * holds it, or a free one it is restored into. A prefix that is gone (dropped, expired), or a
   * file that fails to load, leaves llama-server to evaluate the prompt in full.
   */
  async lease(endpoints: ServerEndpoints, id: string | undefined, saving = false): Promise<SlotLease> {
    const known = id !== undefined && PREFIX_ID.test(id) && this.known.has(id);
    if (!known && !saving) {
      for (const slot of [...this.holds.keys()]) if (!this.leased.has(slot)) this.holds.delete(slot);
      return { release: () => {} };
    }
    const idle = new Set(await endpoints.idleSlots());
    // Chosen without a pause after the await, so requests arriving together get different slots.
    const free = Array.from({ length: this.slots }, (_, slot) => slot).filter((slot) => !this.leased.has(slot));
    const slot =
      free.find((s) => idle.has(s) && id !== undefined && this.holds.get(s) === id) ??
      free.find((s) => idle.has(s) && !this.holds.has(s)) ??
      free.find((s) => idle.has(s)) ??
      free[0];
    if (slot === undefined) return { release: () => {} };
    this.leased.add(slot);
    const lease = { slot, release: () => this.leased.delete(slot) };
    if (!saving && this.holds.get(slot) !== id) await this.restore(endpoints, slot, id!);
    return lease;
  }

  private async restore(endpoints: ServerEndpoints, slot: number, id: string): Promise<void> {
    this.holds.delete(slot);
    if (!existsSync(path.join(this.dir, this.fileName(id)))) return;
    try {
      await this.ownedDir(false);
      await endpoints.restoreSlot(slot, this.fileName(id));
      this.holds.set(slot, id);
    } catch {
      // llama-server leaves the slot empty: the prompt is then evaluated in full
    }
  }

  async drop(id: string): Promise<void> {
    if (!PREFIX_ID.test(id)) return;
    this.known.delete(id);
    for (const [slot, held] of this.holds) if (held === id) this.holds.delete(slot);
    await rm(path.join(this.dir, this.fileName(id)), { force: true });
  }

  /** A new llama-server holds nothing. */
  forgetSlots(): void {
    this.holds.clear();
  }

  /** Deletes every state file this engine wrote. */
  async close(): Promise<void> {
    if (this.ownDir) await removeStateDir(this.dir);
    else await Promise.all([...this.known.keys()].map((id) => this.drop(id)));
  }

  private fileName(id: string): string {
    return `${id}.kv`;
  }

  /**
   * The state directory, made when `make`, checked to be this user's own and closed to others:
   * its name is on llama-server's command line, and one someone else made in its place after
   * a start removed it must neither receive nor provide states.
   */
  private async ownedDir(make: boolean): Promise<void> {
    if (make) await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const stat = await lstat(this.dir);
    if (!stat.isDirectory() || (process.getuid && stat.uid !== process.getuid()) || (stat.mode & 0o077) !== 0) {
      throw new EngineError(`The cached-content state directory ${this.dir} is not this user's own private directory; no state is saved in it or read from it.`);
    }
  }
}
