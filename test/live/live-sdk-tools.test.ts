import "../support/env.js";
import { Modality, Type, type LiveServerMessage } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startTestServer } from "../support/server.js";
import { startToolUpstream, type ToolUpstream } from "../support/tool-upstream.js";
import { connectSdk, isText, replyText } from "./live-clients.js";

// A tool round trip through @google/genai's ai.live.connect: the SDK sends no toolConfig in a Live
// setup (AUTO), so the calling model is an engine that calls when it has tools (a scripted upstream).
let upstream: ToolUpstream;
let server: RunningServer;
beforeAll(async () => {
  upstream = await startToolUpstream();
  server = await startTestServer({ apiKeys: ["k"], upstreams: [`caller=openai:${upstream.url},model=caller`] });
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});

const weather = {
  name: "get_weather",
  description: "The weather in a city.",
  parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ["city"] },
};

describe("Live tools through ai.live.connect", () => {
  it("a toolCall comes as the model calls; sendToolResponse continues the turn, and the result reaches the model", async () => {
    const { session, inbox } = await connectSdk(server.url, {
      model: "caller",
      config: { responseModalities: [Modality.TEXT], tools: [{ functionDeclarations: [weather] }] },
    });
    try {
      session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "What is the weather in Paris?" }] }], turnComplete: true });
      const called = await inbox.until((m: LiveServerMessage) => m.toolCall !== undefined);
      const call = called.at(-1)!.toolCall!.functionCalls![0]!;
      expect(call).toMatchObject({ name: "get_weather", args: { city: "Paris" } });
      expect(call.id).toMatch(/\S/);
      expect(called.some((m) => m.serverContent?.turnComplete)).toBe(false);

      session.sendToolResponse({ functionResponses: [{ id: call.id, name: call.name, response: { forecast: "sunny, 21 C" } }] });
      const reply = await inbox.until((m: LiveServerMessage) => m.serverContent?.turnComplete === true);
      expect(reply.filter(isText).length).toBeGreaterThan(1);
      expect(replyText(reply)).toContain("sunny, 21 C");

      // What went upstream the second time: the declared tool, the model's call, then its result
      // (an assistant message with tool_calls, then a tool message naming the call's id).
      expect(upstream.requests).toHaveLength(2);
      const second = upstream.requests[1]!;
      expect(second.tools?.map((t) => t.function.name)).toEqual(["get_weather"]);
      const [call_, result] = second.messages.slice(-2);
      expect(call_).toMatchObject({ role: "assistant" });
      expect(JSON.stringify(call_)).toContain("get_weather");
      expect(JSON.stringify(result)).toContain("sunny, 21 C");
      expect(call_).toMatchObject({ tool_calls: [{ id: call.id, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] });
      expect(result).toEqual({ role: "tool", tool_call_id: call.id, content: '{"forecast":"sunny, 21 C"}' });
    } finally {
      session.close();
    }
  }, 60_000);
});
