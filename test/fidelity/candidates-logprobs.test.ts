import { type ApiError as SdkApiError } from "@google/genai";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { useGeminiServer } from "../support/server.js";

const live = useGeminiServer({ parallel: 4 });

describe("candidates and logprobs (Gemini)", () => {
  it("candidateCount 3 streams three candidates interleaved, each ending with its finishReason", async () => {
    const indices: number[] = [];
    const finished = new Set<number>();
    const texts = ["", "", ""];
    let lastUsage = 0;
    for await (const chunk of await live.ai.models.generateContentStream({
      model: "stories-260k",
      contents: "Once upon a time",
      config: { candidateCount: 3, seed: 7, maxOutputTokens: 200 },
    })) {
      const candidate = chunk.candidates![0]!;
      expect(chunk.candidates).toHaveLength(1);
      indices.push(candidate.index!);
      texts[candidate.index!] += candidate.content?.parts?.map((p) => p.text ?? "").join("") ?? "";
      if (candidate.finishReason) finished.add(candidate.index!);
      lastUsage = chunk.usageMetadata!.candidatesTokenCount!;
    }
    expect(new Set(indices)).toEqual(new Set([0, 1, 2]));
    expect(finished).toEqual(new Set([0, 1, 2]));
    // Interleaved: the indices do not come as three runs one after the other.
    const runs = indices.filter((index, i) => i === 0 || indices[i - 1] !== index).length;
    expect(runs).toBeGreaterThan(3);
    expect(new Set(texts).size).toBe(3);
    expect(lastUsage).toBe(600);
  });

  it("generateContent with candidateCount returns every candidate, and the same seed gives the same candidates", async () => {
    const ask = () => live.ai.models.generateContent({ model: "stories-260k", contents: "Once upon a time", config: { candidateCount: 2, seed: 3, maxOutputTokens: 20 } });
    const [a, b] = [await ask(), await ask()];
    expect(a.candidates?.map((c) => c.index)).toEqual([0, 1]);
    expect(a.candidates?.map((c) => c.content?.parts?.[0]?.text)).toEqual(b.candidates?.map((c) => c.content?.parts?.[0]?.text));
    expect(a.usageMetadata?.candidatesTokenCount).toBe(40);
  });

  it("responseLogprobs gives each chosen token's log probability and the top alternatives", async () => {
    const response = await live.ai.models.generateContent({
      model: "stories-260k",
      contents: "Once upon a time",
      config: { responseLogprobs: true, logprobs: 3, maxOutputTokens: 12, temperature: 0 },
    });
    const candidate = response.candidates![0]!;
    const result = candidate.logprobsResult!;
    expect(result.chosenCandidates).toHaveLength(12);
    expect(result.topCandidates).toHaveLength(12);
    expect(result.chosenCandidates!.map((c) => c.token).join("")).toBe(candidate.content?.parts?.[0]?.text);
    result.topCandidates!.forEach((step, i) => {
      expect(step.candidates).toHaveLength(3);
      const chosen = result.chosenCandidates![i]!;
      expect(chosen.logProbability!).toBeLessThanOrEqual(0);
      // Greedy: the chosen token is the most likely one.
      expect(step.candidates![0]!.tokenId).toBe(chosen.tokenId);
    });
    expect(candidate.avgLogprobs).toBeCloseTo(result.chosenCandidates!.reduce((s, c) => s + c.logProbability!, 0) / 12, 6);

    let streamed = 0;
    for await (const chunk of await live.ai.models.generateContentStream({
      model: "stories-260k",
      contents: "Once upon a time",
      config: { responseLogprobs: true, maxOutputTokens: 12, temperature: 0 },
    })) {
      streamed += chunk.candidates?.[0]?.logprobsResult?.chosenCandidates?.length ?? 0;
    }
    expect(streamed).toBe(12);
  });

  it("logprobs without responseLogprobs, or out of range, is a 400", async () => {
    for (const [config, message] of [
      [{ logprobs: 2 }, "response_logprobs"],
      [{ responseLogprobs: true, logprobs: 21 }, "logprobs"],
      [{ candidateCount: 9 }, "candidate_count"],
    ] as const) {
      const error = await live.ai.models.generateContent({ model: "stories-260k", contents: "x", config }).catch((e: unknown) => e);
      expect((error as SdkApiError).status).toBe(400);
      expect((error as Error).message).toContain(message);
    }
  });
});

describe("n and logprobs (OpenAI surface)", () => {
  const client = () => new OpenAI({ apiKey: "k", baseURL: `${live.server.url}/v1` });

  it("n = 2 gives two choices (whole and streamed) and logprobs with top_logprobs", async () => {
    const completion = await client().chat.completions.create({
      model: "stories-260k",
      messages: [{ role: "user", content: "Once upon a time" }],
      n: 2,
      temperature: 0,
      max_tokens: 10,
      logprobs: true,
      top_logprobs: 2,
    });
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1]);
    // Greedy: both choices are the same text.
    expect(completion.choices[1]!.message.content).toBe(completion.choices[0]!.message.content);
    expect(completion.usage?.completion_tokens).toBe(20);
    for (const choice of completion.choices) {
      expect(choice.logprobs?.content).toHaveLength(10);
      expect(choice.logprobs!.content![0]!.top_logprobs).toHaveLength(2);
      expect(choice.logprobs!.content!.map((l) => l.token).join("")).toBe(choice.message.content);
    }

    const seen = new Set<number>();
    const stream = await client().chat.completions.create({ model: "stories-260k", messages: [{ role: "user", content: "Hi" }], n: 3, max_tokens: 8, stream: true });
    let finishes = 0;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        seen.add(choice.index);
        if (choice.finish_reason) finishes++;
      }
    }
    expect(seen).toEqual(new Set([0, 1, 2]));
    expect(finishes).toBe(3);
  });
});
