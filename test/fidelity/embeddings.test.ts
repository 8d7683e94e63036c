import { GoogleGenAI, type ApiError as SdkApiError } from "@google/genai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startTestServer } from "../support/server.js";

let server: RunningServer;
let ai: GoogleGenAI;
beforeAll(async () => {
  server = await startTestServer();
  ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
});
afterAll(async () => server?.close());

const norm = (v: number[]) => Math.hypot(...v);
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

describe("embeddings", () => {
  it("embedContent through @google/genai: one unit vector per text, at the requested dimension", async () => {
    const full = await ai.models.embedContent({ model: "stories-260k", contents: ["The cat sat on the mat.", "A dog ran in the park."] });
    expect(full.embeddings).toHaveLength(2);
    for (const e of full.embeddings!) {
      expect(e.values).toHaveLength(64);
      expect(norm(e.values!)).toBeCloseTo(1, 5);
    }
    const small = await ai.models.embedContent({
      model: "gemini-embedding-001",
      contents: "The cat sat on the mat.",
      config: { outputDimensionality: 16, taskType: "RETRIEVAL_QUERY" },
    });
    const values = small.embeddings![0]!.values!;
    expect(values).toHaveLength(16);
    expect(norm(values)).toBeCloseTo(1, 5);
    // truncation then renormalisation of the same vector
    const head = full.embeddings![0]!.values!.slice(0, 16);
    expect(dot(values, head) / norm(head)).toBeCloseTo(1, 5);
  });

  it("same text, same vector; the model lists embedContent", async () => {
    const a = await ai.models.embedContent({ model: "stories-260k", contents: "Once upon a time" });
    const b = await ai.models.embedContent({ model: "stories-260k", contents: "Once upon a time" });
    expect(a.embeddings![0]!.values).toEqual(b.embeddings![0]!.values);
    const model = await ai.models.get({ model: "stories-260k" });
    expect(model.supportedActions).toContain("embedContent");
  });

  it("refuses a dimension the model does not have", async () => {
    const error = await ai.models
      .embedContent({ model: "stories-260k", contents: "x", config: { outputDimensionality: 4096 } })
      .catch((e: unknown) => e);
    expect((error as SdkApiError).status).toBe(400);
    expect((error as Error).message).toContain("1 to 64 dimensions");
  });

  it("POST /v1/embeddings through the openai SDK", async () => {
    const client = new OpenAI({ apiKey: "k", baseURL: `${server.url}/v1` });
    const response = await client.embeddings.create({ model: "stories-260k", input: ["hello there", "good night"], dimensions: 32 });
    expect(response.data).toHaveLength(2);
    expect(response.data[1]!.index).toBe(1);
    expect(response.data[0]!.embedding).toHaveLength(32);
    expect(norm(response.data[0]!.embedding)).toBeCloseTo(1, 5);
    expect(response.usage.prompt_tokens).toBeGreaterThan(2);
  });
});
