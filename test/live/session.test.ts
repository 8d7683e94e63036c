import { describe, expect, it } from "vitest";
import type { Engine, GenerateRequest, GenerationEvent } from "../../src/engines/engine.js";
import type { LiveServerMessage } from "../../src/live/protocol.js";
import { LiveSession } from "../../src/live/session.js";
import { DEFAULT_LIVE_LIMITS } from "../../src/live/session-deps.js";

/**
 * The session state machine without sockets: a scripted engine writes one word every 10 ms
 * until its signal aborts, and records every request it was given.
 */
function scriptedEngine(words: string[]) {
  const requests: GenerateRequest[] = [];
  const engine = { info: { id: "scripted" } } as Engine;
  async function* generate(request: GenerateRequest): AsyncGenerator<GenerationEvent> {
    requests.push(request);
    const usage = { promptTokens: 5, cachedPromptTokens: 0, outputTokens: 0 };
    yield { type: "start", usage };
    for (const [i, word] of words.entries()) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (request.signal?.aborted) return;
      yield { type: "text", text: word, usage: { ...usage, outputTokens: i + 1 } };
    }
    yield { type: "end", finishReason: "STOP", usage: { ...usage, outputTokens: words.length } };
  }
  return { engine, requests, generate };
}

function openSession(words: string[], limits = DEFAULT_LIVE_LIMITS) {
  const sent: LiveServerMessage[] = [];
  const closes: { code: number; reason: string }[] = [];
  const { engine, requests, generate } = scriptedEngine(words);
  let tracked = 0;
  const session = new LiveSession({
    transport: { send: (m) => sent.push(m), ready: () => Promise.resolve(), close: (code, reason) => closes.push({ code, reason }) },
    resolveEngine: (model) => (model === "scripted" ? engine : undefined),
    generate: (_engine, request) => generate(request),
    track: () => {
      tracked++;
      return () => tracked--;
    },
    version: "v1beta",
    limits,
  });
  const receive = (message: unknown) => session.receive(() => message);
  const waitUntil = async (check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(check()).toBe(true);
  };
  return { session, sent, closes, requests, receive, waitUntil, tracked: () => tracked };
}

const user = (text: string) => ({ clientContent: { turns: [{ role: "user", parts: [{ text }] }], turnComplete: true } });
const texts = (sent: LiveServerMessage[]) => sent.filter((m) => m.serverContent?.modelTurn).length;

describe("LiveSession", () => {
  it("answers setup, then streams a reply word by word and completes the turn", async () => {
    const s = openSession(["a", "b", "c"]);
    s.receive({ setup: { model: "models/scripted" } });
    s.receive(user("hi"));
    await s.waitUntil(() => s.sent.some((m) => m.serverContent?.turnComplete));
    expect(s.sent[0]).toEqual({ setupComplete: {} });
    expect(texts(s.sent)).toBe(3);
    expect(s.sent.at(-2)).toEqual({ serverContent: { generationComplete: true } });
    expect(s.tracked()).toBe(0);
    s.session.clientGone();
  });

  it("barge-in: the reply stops, interrupted comes before the next reply, and the next prompt holds what was said", async () => {
    const s = openSession(Array.from({ length: 50 }, (_, i) => `w${i} `));
    s.receive({ setup: { model: "scripted" } });
    s.receive(user("first"));
    await s.waitUntil(() => texts(s.sent) >= 2);
    s.receive(user("second"));
    await s.waitUntil(() => s.requests.length === 2);
    expect(s.requests[0]!.signal!.aborted).toBe(true);
    const interrupted = s.sent.findIndex((m) => m.serverContent?.interrupted);
    expect(interrupted).toBeGreaterThan(0);
    expect(s.sent.slice(0, interrupted).some((m) => m.serverContent?.turnComplete)).toBe(false);
    const turns = s.requests[1]!.prompt.turns;
    expect(turns.map((t) => t.role)).toEqual(["user", "model", "user"]);
    expect(turns[1]!.text).toMatch(/^w0 w1 /);
    s.session.clientGone();
  });

  it("input after a reply has ended interrupts nothing", async () => {
    const s = openSession(["a", "b"]);
    s.receive({ setup: { model: "scripted" } });
    s.receive(user("one"));
    await s.waitUntil(() => s.sent.some((m) => m.serverContent?.turnComplete));
    s.receive(user("two"));
    await s.waitUntil(() => s.sent.filter((m) => m.serverContent?.turnComplete).length === 2);
    expect(s.sent.some((m) => m.serverContent?.interrupted)).toBe(false);
    expect(s.requests[1]!.prompt.turns.map((t) => t.text)).toEqual(["one", "ab", "two"]);
    s.session.clientGone();
  });

  it("the idle clock does not run while the model answers", async () => {
    const s = openSession(Array.from({ length: 20 }, () => "x"), { ...DEFAULT_LIVE_LIMITS, idleTimeoutMs: 60 });
    s.receive({ setup: { model: "scripted" } });
    s.receive(user("go"));
    await s.waitUntil(() => texts(s.sent) >= 2);
    s.receive({ realtimeInput: {} });
    await s.waitUntil(() => s.sent.some((m) => m.serverContent?.turnComplete));
    expect(texts(s.sent)).toBe(20);
    await s.waitUntil(() => s.closes.length === 1);
    expect(s.closes[0]!.reason).toMatch(/idle/);
  });

  it("a client gone mid-reply aborts the generation", async () => {
    const s = openSession(Array.from({ length: 50 }, () => "x"));
    s.receive({ setup: { model: "scripted" } });
    s.receive(user("go"));
    await s.waitUntil(() => texts(s.sent) >= 1);
    s.session.clientGone();
    expect(s.requests[0]!.signal!.aborted).toBe(true);
    await s.waitUntil(() => s.tracked() === 0);
  });

  it("an unknown model, a second setup and a turn before setup close with Google's codes", async () => {
    const unknown = openSession([]);
    unknown.receive({ setup: { model: "nope" } });
    await unknown.waitUntil(() => unknown.closes.length === 1);
    expect(unknown.closes[0]).toEqual({ code: 1008, reason: "models/nope is not found for API version v1beta, or is not supported for bidiGenerateContent." });

    const twice = openSession([]);
    twice.receive({ setup: { model: "scripted" } });
    twice.receive({ setup: { model: "scripted" } });
    await twice.waitUntil(() => twice.closes.length === 1);
    expect(twice.closes[0]!.code).toBe(1007);

    const early = openSession([]);
    early.receive(user("hi"));
    await early.waitUntil(() => early.closes.length === 1);
    expect(early.closes[0]!.reason).toMatch(/first message of a session must be setup/);
  });

  it("shutdown: goAway, then an idle session closes with 1001 at once", async () => {
    const s = openSession([]);
    s.receive({ setup: { model: "scripted" } });
    await s.waitUntil(() => s.sent.length === 1);
    s.session.shutdown(5000);
    expect(s.sent.at(-1)).toEqual({ goAway: { timeLeft: "5s" } });
    expect(s.closes).toEqual([{ code: 1001, reason: "The server is shutting down." }]);
  });

  it("an idle session is ended after the idle timeout", async () => {
    const s = openSession([], { ...DEFAULT_LIVE_LIMITS, idleTimeoutMs: 50 });
    s.receive({ setup: { model: "scripted" } });
    await s.waitUntil(() => s.closes.length === 1);
    expect(s.closes[0]).toEqual({ code: 1000, reason: "The session was idle for 0.05 s." });
  });
});
