import { FunctionCallingConfigMode, Type, type ApiError as SdkApiError, type CallableTool, type FunctionCall, type Part } from "@google/genai";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { onLlamaServer, useGeminiServer } from "../support/server.js";
import { postStream, readEvents } from "../support/sse.js";

const live = useGeminiServer({ parallel: 4 });

const weatherParameters = {
  type: Type.OBJECT,
  properties: {
    city: { type: Type.STRING, maxLength: 16 },
    unit: { type: Type.STRING, enum: ["celsius", "fahrenheit"] },
    days: { type: Type.INTEGER },
  },
  required: ["city", "unit", "days"],
};
const weatherArgs = new Ajv().compile({
  type: "object",
  properties: { city: { type: "string", maxLength: 16 }, unit: { enum: ["celsius", "fahrenheit"] }, days: { type: "integer" } },
  required: ["city", "unit", "days"],
  additionalProperties: false,
});
const declarations = [
  { name: "get_weather", description: "The weather forecast for a city.", parameters: weatherParameters },
  { name: "get_time", description: "The time now.", parameters: { type: Type.OBJECT, properties: {} } },
];

describe("function calling (Gemini)", () => {
  it("mode ANY forces a functionCall whose args validate against the declaration, streamed or not", async () => {
    for (let seed = 0; seed < 5; seed++) {
      const response = await live.ai.models.generateContent({
        model: "gemini-2.5-flash",
        contents: "What is the weather in Paris?",
        config: {
          seed,
          temperature: 1,
          tools: [{ functionDeclarations: declarations }],
          toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ["get_weather"] } },
        },
      });
      const calls = response.functionCalls ?? [];
      expect(calls).toHaveLength(1);
      expect(calls[0]!.name).toBe("get_weather");
      expect(weatherArgs(calls[0]!.args), JSON.stringify(calls[0]!.args)).toBe(true);
      expect(calls[0]!.id).toMatch(/^call_/);
      expect(response.candidates?.[0]?.finishReason).toBe("STOP");
    }

    const chunks = [];
    for await (const chunk of await live.ai.models.generateContentStream({
      model: "stories-260k",
      contents: "What time is it?",
      config: { tools: [{ functionDeclarations: declarations }], toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } } },
    })) {
      chunks.push(chunk);
    }
    const last = chunks.at(-1)!;
    expect(last.candidates?.[0]?.finishReason).toBe("STOP");
    expect(last.functionCalls?.[0]?.name).toMatch(/^get_(weather|time)$/);
    // No part of the call leaks out as text.
    expect(chunks.map((c) => c.text ?? "").join("")).toBe("");
  });

  it("mode NONE and AUTO answer with text from a model that writes no call", async () => {
    for (const mode of [FunctionCallingConfigMode.NONE, FunctionCallingConfigMode.AUTO]) {
      const response = await live.ai.models.generateContent({
        model: "stories-260k",
        contents: "Once upon a time",
        config: { seed: 1, maxOutputTokens: 30, tools: [{ functionDeclarations: declarations }], toolConfig: { functionCallingConfig: { mode } } },
      });
      expect(response.functionCalls).toBeUndefined();
      expect(response.text?.length).toBeGreaterThan(0);
    }
  });

  it("a reply that sets out to call an undeclared function ends MALFORMED_FUNCTION_CALL with no content, streamed and whole", async () => {
    // The response schema makes the model write a call of a function nobody declared.
    const config = {
      tools: [{ functionDeclarations: declarations }],
      responseMimeType: "application/json",
      responseSchema: { type: Type.OBJECT, properties: { name: { type: Type.STRING, enum: ["delete_everything"] }, args: { type: Type.OBJECT, properties: {} } }, required: ["name", "args"] },
    };
    const chunks = [];
    for await (const chunk of await live.ai.models.generateContentStream({ model: "stories-260k", contents: "Clean up.", config })) chunks.push(chunk);
    expect(chunks).toHaveLength(1);
    const [candidate] = chunks[0]!.candidates!;
    expect(candidate?.finishReason).toBe("MALFORMED_FUNCTION_CALL");
    expect(candidate?.content?.parts).toBeUndefined();
    expect(chunks[0]!.text).toBeUndefined();
    expect(chunks[0]!.functionCalls).toBeUndefined();
    expect(chunks[0]!.usageMetadata?.candidatesTokenCount).toBeGreaterThan(0);
    // finishMessage quotes what the model wrote, on the wire (@google/genai does not copy the field, as with Google's own).
    const { tools, responseMimeType, responseSchema } = config;
    const events = await readEvents(await postStream(live.server.url, { contents: [{ role: "user", parts: [{ text: "Clean up." }] }], tools, generationConfig: { responseMimeType, responseSchema } }));
    expect(events.map((e) => e.data.candidates[0])).toEqual([
      { content: {}, index: 0, finishReason: "MALFORMED_FUNCTION_CALL", finishMessage: expect.stringMatching(/^Malformed function call: \{\s*"name"\s*:\s*"delete_everything"/) },
    ]);

    const whole = await live.ai.models.generateContent({ model: "stories-260k", contents: "Clean up.", config });
    expect(whole.candidates?.[0]).toMatchObject({ finishReason: "MALFORMED_FUNCTION_CALL", content: {} });
    expect(whole.text).toBeUndefined();
    // A chat keeps no model turn for it in its curated history.
    const chat = live.ai.chats.create({ model: "stories-260k", config });
    await chat.sendMessage({ message: "Clean up." });
    expect(chat.getHistory(true).filter((turn) => turn.role === "model")).toEqual([]);
  });

  it("the SDK's automatic function calling loop runs the function and sends its result back", async () => {
    const invoked: FunctionCall[] = [];
    const weatherTool: CallableTool = {
      tool: async () => ({ functionDeclarations: [declarations[0]!] }),
      callTool: async (calls: FunctionCall[]): Promise<Part[]> => {
        invoked.push(...calls);
        return calls.map((call) => ({ functionResponse: { id: call.id, name: call.name!, response: { forecast: "sunny", degrees: 21 } } }));
      },
    };
    const chat = live.ai.chats.create({
      model: "stories-260k",
      config: {
        tools: [weatherTool],
        toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } },
        automaticFunctionCalling: { maximumRemoteCalls: 2 },
        // llama.cpp's JSON grammar lets the unseeded tiny model spend tokens on whitespace (a call ran out of 100 in about one run of six).
        maxOutputTokens: onLlamaServer ? 300 : 100,
      },
    });
    await chat.sendMessage({ message: "Weather in Oslo?" });
    expect(invoked.length).toBeGreaterThanOrEqual(1);
    expect(weatherArgs(invoked[0]!.args)).toBe(true);
    const history = chat.getHistory(true);
    const roles = history.map((content) => content.role);
    expect(roles[0]).toBe("user");
    // The function's response went back to the server as a user turn after the model's call.
    const callAt = history.findIndex((content) => content.parts?.some((p) => p.functionCall));
    const resultAt = history.findIndex((content) => content.parts?.some((p) => p.functionResponse));
    expect(callAt).toBeGreaterThan(0);
    expect(resultAt).toBeGreaterThan(callAt);
  });

  it("functionCall and functionResponse parts in history are accepted and counted in the prompt", async () => {
    const contents = [
      { role: "user", parts: [{ text: "Weather in Rome?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Rome", unit: "celsius", days: 1 } } }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { forecast: "rain" } } }] },
    ];
    const plain = await live.ai.models.countTokens({ model: "stories-260k", contents: [contents[0]!] });
    const withCall = await live.ai.models.countTokens({ model: "stories-260k", contents });
    expect(withCall.totalTokens!).toBeGreaterThan(plain.totalTokens! + 10);
    const reply = await live.ai.models.generateContent({ model: "stories-260k", contents, config: { maxOutputTokens: 10 } });
    expect(reply.candidates?.[0]?.finishReason).toMatch(/^(STOP|MAX_TOKENS)$/);
  });

  it("countTokens of a generateContentRequest counts its function declarations, as generateContent's promptTokenCount does", async () => {
    const request = {
      contents: [{ role: "user", parts: [{ text: "What is the weather in Paris?" }] }],
      tools: [{ functionDeclarations: declarations }],
      toolConfig: { functionCallingConfig: { mode: "AUTO" } },
    };
    const count = async (generateContentRequest: object) => {
      const response = await fetch(`${live.server.url}/v1beta/models/stories-260k:countTokens`, {
        method: "POST",
        body: JSON.stringify({ generateContentRequest: { model: "models/stories-260k", ...generateContentRequest } }),
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { totalTokens: number }).totalTokens;
    };
    const withTools = await count(request);
    const generated = await live.ai.models.generateContent({
      model: "stories-260k",
      contents: request.contents,
      config: { tools: request.tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.AUTO } }, maxOutputTokens: 2 },
    });
    expect(withTools).toBe(generated.usageMetadata?.promptTokenCount);
    expect(withTools).toBeGreaterThan(await count({ contents: request.contents }));
  });

  it("answers 400 for tools it cannot serve", async () => {
    const cases: [object, string][] = [
      [{ tools: [{ googleSearch: {} }] }, "googleSearch"],
      [{ tools: [{ codeExecution: {} }] }, "codeExecution"],
      [{ tools: [{ functionDeclarations: [declarations[1]!, declarations[1]!] }] }, "declared twice"],
      [{ tools: [{ functionDeclarations: declarations }], toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["nope"] } } }, "is not declared"],
      [{ toolConfig: { functionCallingConfig: { mode: "ANY" } } }, "needs function declarations"],
      [{ tools: [{ functionDeclarations: declarations }], toolConfig: { functionCallingConfig: { mode: "ANY" } }, responseMimeType: "application/json" }, "cannot be combined"],
    ];
    for (const [config, message] of cases) {
      const error = await live.ai.models.generateContent({ model: "stories-260k", contents: "x", config }).catch((e: unknown) => e);
      expect((error as SdkApiError).status, message).toBe(400);
      expect((error as Error).message).toContain(message);
    }
  });
});

describe("tools (OpenAI surface)", () => {
  const client = () => new OpenAI({ apiKey: "k", baseURL: `${live.server.url}/v1` });
  const tools = [
    {
      type: "function" as const,
      function: {
        name: "get_weather",
        description: "The weather forecast for a city.",
        parameters: {
          type: "object",
          properties: { city: { type: "string", maxLength: 16 }, unit: { type: "string", enum: ["celsius", "fahrenheit"] }, days: { type: "integer" } },
          required: ["city", "unit", "days"],
          additionalProperties: false,
        },
      },
    },
  ];

  it("a reply that is a failed call comes back as text, as OpenAI-compatible servers return it", async () => {
    const completion = await client().chat.completions.create({
      model: "stories-260k",
      messages: [{ role: "user", content: "Clean up." }],
      tools,
      response_format: {
        type: "json_schema",
        json_schema: { name: "call", schema: { type: "object", properties: { name: { enum: ["delete_everything"] }, args: { type: "object", properties: {} } }, required: ["name", "args"] } },
      },
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("stop");
    expect(choice.message.tool_calls ?? []).toEqual([]);
    expect(JSON.parse(choice.message.content!)).toEqual({ name: "delete_everything", args: {} });
  });

  it("tool_choice required gives tool_calls with valid arguments, whole and streamed", async () => {
    const completion = await client().chat.completions.create({
      model: "stories-260k",
      messages: [{ role: "user", content: "Weather in Lima?" }],
      tools,
      tool_choice: "required",
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe("function");
    if (call.type !== "function") return;
    expect(call.function.name).toBe("get_weather");
    expect(weatherArgs(JSON.parse(call.function.arguments))).toBe(true);

    const stream = await client().chat.completions.create({
      model: "stories-260k",
      messages: [
        { role: "user", content: "Weather in Lima?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: '{"forecast":"fog"}' },
        { role: "user", content: "And tomorrow?" },
      ],
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      stream: true,
    });
    let args = "";
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) args += delta.function?.arguments ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(weatherArgs(JSON.parse(args))).toBe(true);
  });
});
