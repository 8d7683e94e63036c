import "../support/env.js";
import { Modality, type LiveServerMessage } from "@google/genai";
import { describe, expect, it } from "vitest";
import { metricValue, useGeminiServer, waitFor } from "../support/server.js";
import { CHAT_MODEL, CHAT_MODEL_SPEC, connectRaw, connectSdk, isText, liveUrl, replyText } from "./live-clients.js";

/** The Live API through @google/genai's own `ai.live.connect` (ws://), against a real chat model. */
const live = useGeminiServer({ models: [CHAT_MODEL_SPEC], apiKeys: ["k"], parallel: 2 });

const TEXT = { responseModalities: [Modality.TEXT], temperature: 0 };
const turnDone = (m: LiveServerMessage) => m.serverContent?.turnComplete === true;

describe("Live sessions through ai.live.connect", () => {
  it("streams each reply as several serverContent messages, and the second turn builds on the first", async () => {
    const { session, inbox } = await connectSdk(live.server.url, { model: CHAT_MODEL, config: { ...TEXT, maxOutputTokens: 24 } });
    try {
      session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "My name is Ada. Say hello to me." }] }], turnComplete: true });
      const first = await inbox.until(turnDone);
      session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "What is my name?" }] }], turnComplete: true });
      const second = await inbox.until(turnDone);

      for (const reply of [first, second]) {
        expect(reply.filter(isText).length).toBeGreaterThan(1);
        const generationComplete = reply.findIndex((m) => m.serverContent?.generationComplete);
        expect(generationComplete).toBeGreaterThan(reply.findLastIndex(isText));
        expect(generationComplete).toBeLessThan(reply.length - 1);
        expect(reply.at(-1)?.usageMetadata?.responseTokenCount).toBeGreaterThan(0);
      }
      const u1 = first.at(-1)!.usageMetadata!;
      const u2 = second.at(-1)!.usageMetadata!;
      // Turn 2's prompt holds turn 1 (question and answer), and its start was not recomputed.
      expect(u2.promptTokenCount!).toBeGreaterThan(u1.promptTokenCount! + u1.responseTokenCount! - 1);
      expect(u2.cachedContentTokenCount).toBeGreaterThanOrEqual(u1.promptTokenCount!);
      expect(replyText(first).length).toBeGreaterThan(0);
    } finally {
      session.close();
    }
  }, 120_000);

  it("realtimeInput text is a turn answered at once", async () => {
    const { session, inbox } = await connectSdk(live.server.url, { model: `models/${CHAT_MODEL}`, config: { ...TEXT, maxOutputTokens: 8 } });
    try {
      session.sendRealtimeInput({ text: "Say yes." });
      const reply = await inbox.until(turnDone);
      expect(reply.some(isText)).toBe(true);
    } finally {
      session.close();
    }
  }, 60_000);

  it("input while the model speaks interrupts it: interrupted, the generation stops, the session goes on", async () => {
    const { session, inbox } = await connectSdk(live.server.url, { model: CHAT_MODEL, config: { ...TEXT, maxOutputTokens: 2000 } });
    try {
      session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "Tell me a very long story about a dragon." }] }], turnComplete: true });
      let texts = 0;
      await inbox.until((m) => isText(m) && ++texts === 3);
      // Context without turnComplete: it interrupts and asks for no new reply.
      session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "Stop." }] }], turnComplete: false });
      const toInterrupt = await inbox.until((m) => m.serverContent?.interrupted === true);
      expect(toInterrupt.some(turnDone)).toBe(false);
      await waitFor(async () => (await metricValue(live.server.url, "genai_local_active_streams")) === 0, 5000);
      session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "Say ok." }] }], turnComplete: true });
      const next = await inbox.until(turnDone);
      expect(next.some(isText)).toBe(true);
    } finally {
      session.close();
    }
  }, 120_000);

  it("an audio setup is refused with a reason that says why", async () => {
    const attempt = connectSdk(live.server.url, { model: CHAT_MODEL, config: { responseModalities: [Modality.AUDIO] } });
    await expect(attempt).rejects.toThrow(/code 1007.*response_modalities AUDIO.*no speech engine/);
  });

  it("an unknown model is closed with 1008 and Google's not-found wording", async () => {
    await expect(connectSdk(live.server.url, { model: "no-such-model", config: TEXT })).rejects.toThrow(/code 1008.*models\/no-such-model is not found/);
  });

  it("a wrong key is refused, and so is a missing one", async () => {
    await expect(connectSdk(live.server.url, { model: CHAT_MODEL, config: TEXT }, "wrong")).rejects.toThrow(/code 1007.*API key not valid/);
    const { ended } = await connectRaw(liveUrl(live.server.url, "").replace("?key=", ""));
    const { code, reason } = await ended;
    expect(code).toBe(1008);
    expect(reason).toMatch(/unregistered callers/);
  });

  it("an ephemeral token (BidiGenerateContentConstrained) is refused: none are issued", async () => {
    const attempt = connectSdk(live.server.url, { model: CHAT_MODEL, config: TEXT }, "auth_tokens/abc");
    await expect(attempt).rejects.toThrow(/code 1008.*Ephemeral tokens are not issued/);
  });
});

describe("Live session resumption", () => {
  it("a handle issued after a turn resumes the conversation on a new connection, once", async () => {
    const config = { ...TEXT, maxOutputTokens: 16, sessionResumption: {} };
    const first = await connectSdk(live.server.url, { model: CHAT_MODEL, config });
    first.session.sendClientContent({ turns: "My name is Ada." });
    const turn = await first.inbox.until(turnDone);
    expect(turn.some((m) => m.sessionResumptionUpdate?.newHandle)).toBe(true); // issued at setup already
    const [update] = await first.inbox.until((m) => Boolean(m.sessionResumptionUpdate));
    const handle = update!.sessionResumptionUpdate!.newHandle!;
    expect(update!.sessionResumptionUpdate!.resumable).toBe(true);
    const firstPrompt = turn.at(-1)!.usageMetadata!.promptTokenCount!;
    first.session.close();

    const resumed = await connectSdk(live.server.url, { model: CHAT_MODEL, config: { ...config, sessionResumption: { handle } } });
    try {
      resumed.session.sendClientContent({ turns: "What is my name?" });
      const reply = await resumed.inbox.until(turnDone);
      // The resumed prompt holds the first session's turn and reply before the new question.
      expect(reply.at(-1)!.usageMetadata!.promptTokenCount!).toBeGreaterThan(firstPrompt + 5);
    } finally {
      resumed.session.close();
    }
    await expect(connectSdk(live.server.url, { model: CHAT_MODEL, config: { ...config, sessionResumption: { handle } } })).rejects.toThrow(
      /code 1007.*unknown, used or expired/,
    );
  }, 120_000);
});

describe("Live paths", () => {
  it.each([
    ["/ws/", "v1beta"],
    ["//ws/", "v1beta"],
    ["/ws/", "v1alpha"],
    ["//ws/", "v1"],
  ])("%s…%s…BidiGenerateContent opens a session", async (prefix, version) => {
    const url = liveUrl(live.server.url, "k", version).replace("/ws/", prefix);
    expect(url).toContain(`${prefix}google.ai.generativelanguage.${version}.`);
    // The key in the x-goog-api-key header, as google-genai (Python) sends it.
    const { socket, inbox } = await connectRaw(url.replace("?key=k", ""), { headers: { "x-goog-api-key": "k" } });
    socket.send(JSON.stringify({ setup: { model: CHAT_MODEL } }));
    await inbox.until((m) => "setupComplete" in m);
    socket.close();
  });
});

describe("Live tools (raw ws: the SDKs send no toolConfig in a Live setup)", () => {
  const weather = { name: "get_weather", description: "Current weather in a city", parametersJsonSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };
  const setup = {
    setup: {
      model: `models/${CHAT_MODEL}`,
      generationConfig: { responseModalities: ["TEXT"], temperature: 0, maxOutputTokens: 64 },
      tools: [{ functionDeclarations: [weather] }],
      toolConfig: { functionCallingConfig: { mode: "ANY" } },
    },
  };

  it("functionDeclarations → toolCall; toolResponse continues the turn to turnComplete", async () => {
    const { socket, inbox } = await connectRaw(liveUrl(live.server.url));
    try {
      socket.send(JSON.stringify(setup));
      await inbox.until((m) => "setupComplete" in m);
      // Snake case at the top level, as google-genai (Python) sends it.
      socket.send(JSON.stringify({ client_content: { turns: [{ role: "user", parts: [{ text: "What is the weather in Paris?" }] }], turn_complete: true } }));
      const [call] = (await inbox.until((m) => "toolCall" in m)).filter((m) => "toolCall" in m) as { toolCall: { functionCalls: { id: string; name: string; args: { city: unknown } }[] } }[];
      const fc = call!.toolCall.functionCalls[0]!;
      expect(fc.name).toBe("get_weather");
      expect(typeof fc.args.city).toBe("string");
      expect(fc.id).toMatch(/\S/);
      socket.send(JSON.stringify({ toolResponse: { functionResponses: [{ id: fc.id, name: fc.name, response: { forecast: "sunny, 21 C" } }] } }));
      // The response continues the turn: the model answers (text, then turnComplete) or, as a tiny
      // model often does, calls again; each new call (a new id) is answered, up to three.
      const seen = new Set([fc.id]);
      for (let round = 0; round < 3; round++) {
        const step = await inbox.until((m) => (m as LiveServerMessage).serverContent?.turnComplete === true || "toolCall" in m);
        const again = step.at(-1) as { toolCall?: { functionCalls: { id: string; name: string }[] } };
        if (!again.toolCall) {
          expect(step.some(isText)).toBe(true);
          break;
        }
        const next = again.toolCall.functionCalls[0]!;
        expect(seen.has(next.id)).toBe(false);
        seen.add(next.id);
        socket.send(JSON.stringify({ toolResponse: { functionResponses: [{ id: next.id, name: next.name, response: { forecast: "sunny, 21 C" } }] } }));
      }
    } finally {
      socket.close();
    }
  }, 120_000);

  it("new input while a call is pending cancels it (toolCallCancellation)", async () => {
    const { socket, inbox, ended } = await connectRaw(liveUrl(live.server.url));
    try {
      socket.send(JSON.stringify(setup));
      await inbox.until((m) => "setupComplete" in m);
      socket.send(JSON.stringify({ clientContent: { turns: [{ role: "user", parts: [{ text: "Weather in Rome?" }] }], turnComplete: true } }));
      const calls = (await inbox.until((m) => "toolCall" in m)).at(-1) as { toolCall: { functionCalls: { id: string }[] } };
      socket.send(JSON.stringify({ clientContent: { turns: [{ role: "user", parts: [{ text: "Never mind." }] }], turnComplete: false } }));
      const cancel = (await inbox.until((m) => "toolCallCancellation" in m)).at(-1) as { toolCallCancellation: { ids: string[] } };
      expect(cancel.toolCallCancellation.ids).toEqual(calls.toolCall.functionCalls.map((c) => c.id));
      // A late answer to the cancelled call is refused.
      socket.send(JSON.stringify({ toolResponse: { functionResponses: [{ id: calls.toolCall.functionCalls[0]!.id, name: "get_weather", response: {} }] } }));
      const { code, reason } = await ended;
      expect(code).toBe(1007);
      expect(reason).toMatch(/no function call is pending/);
    } finally {
      socket.close();
    }
  }, 120_000);
});
