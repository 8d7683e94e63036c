/**
 * Greedy streams through the official SDKs, timed as bench:overhead and bench:layers time them:
 * tokens from the server's usage, time to first token from the call to the first chunk with text.
 */
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { timed, type Runner } from "./engine-alone.js";

export function sdkRunners(baseUrl: string, model: string, maxTokens: number): { gemini: Runner; openai: Runner } {
  const ai = new GoogleGenAI({ apiKey: "bench", httpOptions: { baseUrl } });
  const client = new OpenAI({ apiKey: "bench", baseURL: `${baseUrl}/v1` });
  const gemini: Runner = (prompt, streams) =>
    timed(streams, async () => {
      const t0 = performance.now();
      let ttft = 0;
      let tokens = 0;
      for await (const chunk of await ai.models.generateContentStream({ model, contents: prompt, config: { temperature: 0, maxOutputTokens: maxTokens } })) {
        ttft ||= performance.now() - t0;
        tokens = chunk.usageMetadata?.candidatesTokenCount ?? tokens;
      }
      return { tokens, ttft };
    });
  const openai: Runner = (prompt, streams) =>
    timed(streams, async () => {
      const t0 = performance.now();
      let ttft = 0;
      let tokens = 0;
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: prompt }],
        temperature: 0,
        max_tokens: maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) ttft ||= performance.now() - t0;
        tokens = chunk.usage?.completion_tokens ?? tokens;
      }
      return { tokens, ttft };
    });
  return { gemini, openai };
}
