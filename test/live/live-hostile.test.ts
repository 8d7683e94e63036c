import "../support/env.js";
import { GoogleGenAI } from "@google/genai";
import { describe, expect, it } from "vitest";
import { metricValue, startTestServer, useGeminiServer, waitFor } from "../support/server.js";
import { CHAT_MODEL, CHAT_MODEL_SPEC, connectRaw, isText, liveUrl } from "./live-clients.js";

/** Bad input and vanishing clients: each is closed with a reason, and nothing leaks. */
const MAX_FRAME = 64 * 1024;
const live = useGeminiServer({
  models: [CHAT_MODEL_SPEC],
  apiKeys: ["k"],
  parallel: 2,
  live: { maxFrameBytes: MAX_FRAME, setupTimeoutMs: 500 },
});

const SETUP = JSON.stringify({ setup: { model: `models/${CHAT_MODEL}`, generationConfig: { responseModalities: ["TEXT"], maxOutputTokens: 1000 } } });
const TURN = JSON.stringify({ clientContent: { turns: [{ role: "user", parts: [{ text: "Tell me a long story about a cat." }] }], turnComplete: true } });

async function sendAndClose(...frames: (string | Buffer)[]): Promise<{ code: number; reason: string }> {
  const { socket, ended } = await connectRaw(liveUrl(live.server.url));
  for (const frame of frames) socket.send(frame);
  return ended;
}

async function settled(): Promise<void> {
  await waitFor(async () => {
    const [sessions, streams, queued] = await Promise.all(
      ["genai_local_live_sessions", "genai_local_active_streams", "genai_local_queued_requests"].map((name) => metricValue(live.server.url, name)),
    );
    return sessions === 0 && streams === 0 && queued === 0;
  }, 10_000);
}

async function stillServes(): Promise<void> {
  const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: live.server.url } });
  const rest = await ai.models.generateContent({ model: CHAT_MODEL, contents: "Say hi.", config: { maxOutputTokens: 4 } });
  expect(rest.text?.length).toBeGreaterThan(0);
  const { socket, inbox } = await connectRaw(liveUrl(live.server.url));
  socket.send(JSON.stringify({ setup: { model: CHAT_MODEL, generationConfig: { responseModalities: ["TEXT"], maxOutputTokens: 8 } } }));
  socket.send(JSON.stringify({ realtimeInput: { text: "Say hi." } }));
  await inbox.until((m) => (m as { serverContent?: { turnComplete?: boolean } }).serverContent?.turnComplete === true);
  socket.close();
}

describe("Live: malformed frames", () => {
  it.each([
    ["text that is no JSON", "not json {", /Invalid JSON payload received/],
    ["binary that is no UTF-8", Buffer.from([0xff, 0xfe, 0x00, 0x7b]), /not UTF-8/],
    ["a JSON array", "[1,2]", /Expected a JSON object/],
    ["an unknown field", JSON.stringify({ setup: { model: "x", bogus: 1 } }), /Unknown name "bogus"/],
    ["two kinds in one message", JSON.stringify({ setup: { model: CHAT_MODEL }, clientContent: {} }), /exactly one of/],
    ["content before setup", TURN, /first message of a session must be setup/],
    ["audio input", [SETUP, JSON.stringify({ realtimeInput: { audio: { data: "AAAA", mimeType: "audio/pcm" } } })], /realtime_input.audio: .*no speech engine/],
  ])("%s → 1007 with a reason", async (_name, frames, reason) => {
    const { code, reason: got } = await sendAndClose(...(Array.isArray(frames) ? frames : [frames]));
    expect(code).toBe(1007);
    expect(got).toMatch(reason);
  });

  it("a history that outgrows the model's context closes the session with the engine's reason", async () => {
    const long = JSON.stringify({ clientContent: { turns: [{ role: "user", parts: [{ text: "word ".repeat(12_000) }] }], turnComplete: true } });
    const { code, reason } = await sendAndClose(SETUP, long);
    expect(code).toBe(1007);
    expect(reason).toMatch(/context|tokens/);
    await settled();
  }, 60_000);

  it("binary frames that hold JSON are taken as text frames are", async () => {
    const { socket, inbox } = await connectRaw(liveUrl(live.server.url));
    socket.send(Buffer.from(SETUP));
    await inbox.until((m) => "setupComplete" in m);
    socket.close();
  });

  it("a frame over the size limit closes the session with 1009", async () => {
    const { code } = await sendAndClose(JSON.stringify({ clientContent: { turns: [{ parts: [{ text: "a".repeat(MAX_FRAME + 1) }] }] } }));
    expect(code).toBe(1009);
  });

  it("a session that never sends setup is closed with a reason", async () => {
    const { code, reason } = await sendAndClose();
    expect(code).toBe(1007);
    expect(reason).toMatch(/No setup message arrived within 0.5 s/);
    await settled();
    await stillServes();
  });
});

describe("Live: not a WebSocket", () => {
  it("a plain GET on a Live path is a 400 in Google's error shape", async () => {
    const response = await fetch(liveUrl(live.server.url).replace(/^ws/, "http"));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 400, status: "INVALID_ARGUMENT", message: expect.stringMatching(/open it as a WebSocket/) } });
  });
});

describe("Live: clients that vanish", () => {
  it("a client gone mid-reply frees its stream slot at once", async () => {
    const { socket, inbox } = await connectRaw(liveUrl(live.server.url));
    socket.send(SETUP);
    socket.send(TURN);
    await inbox.until(isText);
    expect(await metricValue(live.server.url, "genai_local_active_streams")).toBe(1);
    socket.terminate();
    await waitFor(async () => (await metricValue(live.server.url, "genai_local_active_streams")) === 0, 2000);
  }, 60_000);

  it("Live replies take the same stream slots as REST: a REST request waits while two sessions speak", async () => {
    const speakers = await Promise.all([0, 1].map(() => connectRaw(liveUrl(live.server.url))));
    for (const { socket } of speakers) {
      socket.send(SETUP);
      socket.send(TURN);
    }
    await Promise.all(speakers.map(({ inbox }) => inbox.until(isText)));
    expect(await metricValue(live.server.url, "genai_local_active_streams")).toBe(2);
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: live.server.url } });
    const rest = ai.models.generateContent({ model: CHAT_MODEL, contents: "Say hi.", config: { maxOutputTokens: 4 } });
    await waitFor(async () => (await metricValue(live.server.url, "genai_local_queued_requests")) === 1, 5000);
    for (const { socket } of speakers) socket.terminate();
    expect((await rest).text?.length).toBeGreaterThan(0);
    await settled();
  }, 60_000);

  it("100 sessions opened and dropped (some mid-reply, some before setup) leak nothing", async () => {
    const opened = await Promise.all(Array.from({ length: 100 }, () => connectRaw(liveUrl(live.server.url))));
    expect(await metricValue(live.server.url, "genai_local_live_sessions")).toBe(100);
    opened.forEach(({ socket }, i) => {
      if (i % 2 === 0) {
        socket.send(SETUP);
        socket.send(TURN);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const { socket } of opened) socket.terminate();
    await settled();
    await stillServes();
    await settled();
  }, 120_000);
});

describe("Live: session limits and shutdown", () => {
  it("beyond the session cap, a session is closed with 1013; the time limit sends goAway first", async () => {
    const server = await startTestServer({ models: [CHAT_MODEL_SPEC], live: { maxSessions: 2, maxSessionMs: 1500, goAwayNoticeMs: 1000 } });
    try {
      const first = await connectRaw(liveUrl(server.url));
      const second = await connectRaw(liveUrl(server.url));
      const third = await connectRaw(liveUrl(server.url));
      expect((await third.ended).code).toBe(1013);
      first.socket.send(SETUP);
      const goAway = (await first.inbox.until((m) => "goAway" in m)).at(-1) as { goAway: { timeLeft: string } };
      expect(goAway.goAway.timeLeft).toBe("1s");
      const { code, reason } = await first.ended;
      expect(code).toBe(1000);
      expect(reason).toMatch(/time limit/);
      second.socket.close();
    } finally {
      await server.close();
    }
  }, 60_000);

  it("a server shutting down sends goAway, lets the reply finish, then closes with 1001", async () => {
    const server = await startTestServer({ models: [CHAT_MODEL_SPEC], drainTimeoutMs: 20_000 });
    const { socket, inbox, ended } = await connectRaw(liveUrl(server.url));
    socket.send(JSON.stringify({ setup: { model: CHAT_MODEL, generationConfig: { responseModalities: ["TEXT"], maxOutputTokens: 30 } } }));
    socket.send(TURN);
    await inbox.until(isText);
    const closing = server.close();
    const messages = await inbox.until((m) => (m as { serverContent?: { turnComplete?: boolean } }).serverContent?.turnComplete === true);
    expect(messages.some((m) => "goAway" in m)).toBe(true);
    expect((await ended).code).toBe(1001);
    await closing;
  }, 60_000);
});
