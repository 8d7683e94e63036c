/**
 * Cuts generated text at the first stop sequence. Text that could still turn into a stop
 * sequence is held back until the next piece shows whether it does, so a stop sequence
 * split across tokens is never emitted.
 */
export class StopSequenceFilter {
  private held = "";
  private readonly stops: readonly string[];

  constructor(stopSequences: readonly string[] = []) {
    this.stops = stopSequences.filter((s) => s.length > 0);
  }

  get active(): boolean {
    return this.stops.length > 0;
  }

  /** Returns the text that is safe to emit now, and whether a stop sequence ended the output. */
  push(text: string): { text: string; stopped: boolean } {
    if (this.stops.length === 0) return { text, stopped: false };
    const buffer = this.held + text;

    let cut = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.held = "";
      return { text: buffer.slice(0, cut), stopped: true };
    }

    let keep = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, buffer.length); k > keep; k--) {
        if (buffer.endsWith(stop.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** What is still held back once generation ends without a stop sequence. */
  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }
}
