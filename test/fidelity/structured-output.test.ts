import { Type, type ApiError as SdkApiError } from "@google/genai";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { useGeminiServer } from "../support/server.js";

const live = useGeminiServer({ parallel: 4 });

// The tiny model knows nothing about JSON: only the grammar makes its output valid.
const responseSchema = {
  type: Type.OBJECT,
  properties: {
    name: { type: Type.STRING, maxLength: 12 },
    age: { type: Type.INTEGER },
    happy: { type: Type.BOOLEAN },
    color: { type: Type.STRING, enum: ["red", "green", "blue"] },
    friends: { type: Type.ARRAY, items: { type: Type.STRING, maxLength: 8 }, maxItems: 3 },
  },
  required: ["name", "age", "happy", "color", "friends"],
};
const jsonSchema = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 12 },
    age: { type: "integer" },
    happy: { type: "boolean" },
    color: { type: "string", enum: ["red", "green", "blue"] },
    friends: { type: "array", items: { type: "string", maxLength: 8 }, maxItems: 3 },
  },
  required: ["name", "age", "happy", "color", "friends"],
  additionalProperties: false,
};
const validate = new Ajv().compile(jsonSchema);

describe("structured output", () => {
  it("application/json + responseSchema: 20 of 20 replies parse and validate", async () => {
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, seed) =>
        live.ai.models.generateContent({
          model: "gemini-2.5-flash",
          contents: "Describe a person.",
          config: { responseMimeType: "application/json", responseSchema, seed, temperature: 1, maxOutputTokens: 300 },
        }),
      ),
    );
    for (const reply of replies) {
      const value = JSON.parse(reply.text ?? "");
      expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it("still streams, in pieces that join to one valid JSON document (responseJsonSchema)", async () => {
    const texts: string[] = [];
    for await (const chunk of await live.ai.models.generateContentStream({
      model: "stories-260k",
      contents: "Describe a person.",
      config: { responseMimeType: "application/json", responseJsonSchema: jsonSchema, maxOutputTokens: 300 },
    })) {
      texts.push(chunk.text ?? "");
    }
    expect(texts.length).toBeGreaterThan(2);
    expect(validate(JSON.parse(texts.join("")))).toBe(true);
  });

  it("application/json without a schema gives any JSON; text/x.enum gives exactly one value", async () => {
    const any = await live.ai.models.generateContent({
      model: "stories-260k",
      contents: "Once upon a time",
      config: { responseMimeType: "application/json", maxOutputTokens: 200, temperature: 0 },
    });
    // Any JSON may hold a string the tiny model never closes; when it finishes, the JSON is whole.
    expect(any.text).toMatch(/^\s*[[{]/);
    if (any.candidates?.[0]?.finishReason === "STOP") expect(() => JSON.parse(any.text ?? "")).not.toThrow();
    for (let seed = 0; seed < 5; seed++) {
      const choice = await live.ai.models.generateContent({
        model: "stories-260k",
        contents: "Which animal?",
        config: { responseMimeType: "text/x.enum", responseSchema: { type: Type.STRING, enum: ["cat", "dog", "big bird"] }, seed },
      });
      expect(["cat", "dog", "big bird"]).toContain(choice.text);
    }
  });

  it("an integer is written without an exponent (node-llama-cpp's own rule allows -4e-10)", async () => {
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, seed) =>
        live.ai.models.generateContent({
          model: "stories-260k",
          contents: "The number is",
          config: { responseMimeType: "application/json", responseSchema: { type: Type.ARRAY, items: { type: Type.INTEGER }, minItems: 8, maxItems: 8 }, seed, temperature: 2, maxOutputTokens: 200 },
        }),
      ),
    );
    for (const reply of replies) {
      const values = JSON.parse(reply.text ?? "") as number[];
      expect(values.every(Number.isInteger), reply.text).toBe(true);
    }
  });

  it("answers 400 for what it cannot enforce instead of ignoring it", async () => {
    const cases: [object, string][] = [
      [{ responseMimeType: "application/json", responseSchema: { type: Type.STRING, pattern: "^a+$" } }, "pattern"],
      [{ responseSchema: { type: Type.STRING } }, "requires response_mime_type"],
      [{ responseMimeType: "image/png" }, "image/png"],
      [{ responseMimeType: "text/x.enum", responseSchema: { type: Type.STRING } }, "enum"],
    ];
    for (const [config, message] of cases) {
      const error = await live.ai.models.generateContent({ model: "stories-260k", contents: "x", config }).catch((e: unknown) => e);
      expect((error as SdkApiError).status).toBe(400);
      expect((error as Error).message).toContain(message);
    }
  });

  it("OpenAI response_format json_schema through the openai SDK", async () => {
    const client = new OpenAI({ apiKey: "k", baseURL: `${live.server.url}/v1` });
    const completion = await client.chat.completions.create({
      model: "stories-260k",
      messages: [{ role: "user", content: "Describe a person." }],
      response_format: { type: "json_schema", json_schema: { name: "person", schema: jsonSchema } },
      max_tokens: 300,
    });
    const content = completion.choices[0]!.message.content ?? "";
    expect(validate(JSON.parse(content)), `${content} ${JSON.stringify(validate.errors)}`).toBe(true);
  });
});
