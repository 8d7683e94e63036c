import { describe, expect, it } from "vitest";
import { StopSequenceFilter } from "../../src/engines/llama/stop-sequences.js";

function run(stops: string[], pieces: string[]): { text: string; stopped: boolean } {
  const filter = new StopSequenceFilter(stops);
  let text = "";
  for (const piece of pieces) {
    const out = filter.push(piece);
    text += out.text;
    if (out.stopped) return { text, stopped: true };
  }
  return { text: text + filter.flush(), stopped: false };
}

describe("StopSequenceFilter", () => {
  it("passes text through when there are no stop sequences", () => {
    expect(run([], ["Once", " upon"])).toEqual({ text: "Once upon", stopped: false });
  });

  it("cuts before a stop sequence inside one piece", () => {
    expect(run(["END"], ["The dog ENDED here"])).toEqual({ text: "The dog ", stopped: true });
  });

  it("catches a stop sequence split across pieces and never emits its start", () => {
    const filter = new StopSequenceFilter(["\n\n"]);
    expect(filter.push("The end.\n")).toEqual({ text: "The end.", stopped: false });
    expect(filter.push("\nMore")).toEqual({ text: "", stopped: true });
  });

  it("releases held text when the continuation is not a stop sequence", () => {
    const filter = new StopSequenceFilter(["STOP"]);
    expect(filter.push("go ST")).toEqual({ text: "go ", stopped: false });
    expect(filter.push("ART")).toEqual({ text: "START", stopped: false });
  });

  it("uses the earliest of several stop sequences", () => {
    expect(run(["cat", "dog"], ["a dog and a cat"])).toEqual({ text: "a ", stopped: true });
  });

  it("flushes held text when generation ends without a stop", () => {
    expect(run(["STOP"], ["and ST"])).toEqual({ text: "and ST", stopped: false });
  });
});
