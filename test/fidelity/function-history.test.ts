import { GoogleGenAI, type Content } from "@google/genai";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startRecordingUpstream, type RecordingUpstream } from "../support/recording-upstream.js";
import { startTestServer } from "../support/server.js";

// A conversation's earlier function calls and results reach an OpenAI-compatible engine as its own
// structured messages (assistant tool_calls, tool messages with the call's id), sent through the
// real clients; what the engine received is read off a recording upstream.
let upstream: RecordingUpstream;
let server: RunningServer;
let ai: GoogleGenAI;
let openai: OpenAI;
beforeAll(async () => {
  upstream = await startRecordingUpstream();
  server = await startTestServer({ apiKeys: ["k"], upstreams: [`engine=openai:${upstream.url},model=engine-model`] });
  ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
  openai = new OpenAI({ apiKey: "k", baseURL: `${server.url}/v1` });
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

const weather = { name: "get_weather", description: "The weather in a city.", parameters: { type: "object", properties: { city: { type: "string" } } } };
const sent = () => upstream.requests.at(-1)!.messages;
const callOf = (id: string, name: string, args: object) => ({ id, type: "function", function: { name, arguments: JSON.stringify(args) } });

describe("function-call history on the Gemini surface", () => {
  it("generateContent: calls become assistant tool_calls, results tool messages; ids given are kept, missing ones pair by name in order", async () => {
    const contents: Content[] = [
      { role: "user", parts: [{ text: "Weather in Rome and Oslo, and the time?" }] },
      {
        role: "model",
        parts: [{ text: "Checking." }, { functionCall: { name: "get_weather", args: { city: "Rome" } } }, { functionCall: { name: "get_weather", args: { city: "Oslo" } } }],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { forecast: "rain" } } },
          { functionResponse: { name: "get_weather", response: { forecast: "snow" } } },
        ],
      },
      { role: "model", parts: [{ functionCall: { id: "t1", name: "get_time", args: {} } }] },
      { role: "user", parts: [{ functionResponse: { id: "t1", name: "get_time", response: { time: "noon" } } }] },
    ];
    const reply = await ai.models.generateContent({ model: "engine", contents, config: { tools: [{ functionDeclarations: [weather] }] } });
    expect(reply.text).toBe("seen");
    const messages = sent();
    expect(messages).toHaveLength(6);
    const [rome, oslo] = (messages[1]!.tool_calls as { id: string }[]).map((call) => call.id);
    expect(rome).not.toBe(oslo);
    expect(messages).toEqual([
      { role: "user", content: "Weather in Rome and Oslo, and the time?" },
      { role: "assistant", content: "Checking.", tool_calls: [callOf(rome!, "get_weather", { city: "Rome" }), callOf(oslo!, "get_weather", { city: "Oslo" })] },
      { role: "tool", tool_call_id: rome, content: '{"forecast":"rain"}' },
      { role: "tool", tool_call_id: oslo, content: '{"forecast":"snow"}' },
      { role: "assistant", content: null, tool_calls: [callOf("t1", "get_time", {})] },
      { role: "tool", tool_call_id: "t1", content: '{"time":"noon"}' },
    ]);
    // The same history sent again gets the same ids (an engine's prompt cache sees the same prompt).
    await ai.models.generateContent({ model: "engine", contents });
    expect(sent()).toEqual(messages);
  });

  it("ai.chats: a functionResponse answering the history's call, then text, go up in order with the call's id", async () => {
    const chat = ai.chats.create({
      model: "engine",
      history: [
        { role: "user", parts: [{ text: "Weather in Lima?" }] },
        { role: "model", parts: [{ functionCall: { id: "c-lima", name: "get_weather", args: { city: "Lima" } } }] },
      ],
    });
    await chat.sendMessage({ message: { functionResponse: { id: "c-lima", name: "get_weather", response: { forecast: "fog" } } } });
    expect(sent()).toEqual([
      { role: "user", content: "Weather in Lima?" },
      { role: "assistant", content: null, tool_calls: [callOf("c-lima", "get_weather", { city: "Lima" })] },
      { role: "tool", tool_call_id: "c-lima", content: '{"forecast":"fog"}' },
    ]);
    await chat.sendMessage({ message: "And tomorrow?" });
    expect(sent().slice(2)).toEqual([
      { role: "tool", tool_call_id: "c-lima", content: '{"forecast":"fog"}' },
      { role: "assistant", content: "seen" },
      { role: "user", content: "And tomorrow?" },
    ]);
  });

  it("a text-only conversation goes up as plain text messages, as before", async () => {
    await ai.models.generateContent({
      model: "engine",
      contents: [
        { role: "user", parts: [{ text: "Hi" }, { text: " there" }] },
        { role: "model", parts: [{ text: "Hello." }] },
        { role: "user", parts: [{ text: "Bye" }] },
      ],
    });
    expect(sent()).toEqual([
      { role: "user", content: "Hi there" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "Bye" },
    ]);
  });
});

describe("function-call history on the OpenAI surface", () => {
  it("assistant tool_calls and tool messages reach the engine with their ids, text alongside kept; a legacy function message pairs by name", async () => {
    await openai.chat.completions.create({
      model: "engine",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Weather in Rome and Oslo?" },
        {
          role: "assistant",
          content: "Let me look.",
          tool_calls: [
            { id: "call_rome", type: "function", function: { name: "get_weather", arguments: '{"city": "Rome"}' } },
            { id: "call_oslo", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_oslo", content: "snow" },
        { role: "tool", tool_call_id: "call_rome", content: '{"forecast":"rain"}' },
        { role: "assistant", content: null, tool_calls: [{ id: "call_time", type: "function", function: { name: "get_time", arguments: "{}" } }] },
        { role: "function", name: "get_time", content: "noon" },
        { role: "user", content: "Thanks." },
      ],
      tools: [{ type: "function", function: weather }],
    });
    expect(sent()).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather in Rome and Oslo?" },
      { role: "assistant", content: "Let me look.", tool_calls: [callOf("call_rome", "get_weather", { city: "Rome" }), callOf("call_oslo", "get_weather", { city: "Oslo" })] },
      { role: "tool", tool_call_id: "call_oslo", content: "snow" },
      { role: "tool", tool_call_id: "call_rome", content: '{"forecast":"rain"}' },
      { role: "assistant", content: null, tool_calls: [callOf("call_time", "get_time", {})] },
      { role: "tool", tool_call_id: "call_time", content: "noon" },
      { role: "user", content: "Thanks." },
    ]);
  });
});
