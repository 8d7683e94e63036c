import http from "node:http";
import { listenOnLoopback, serveIfRunAsScript } from "./fake-upstream.js";

/**
 * An OpenAI-compatible engine that writes one fixed story at a set pace, a word per streamed delta:
 * a stand-in for a model that takes seconds over a story, as Gemini does. The quickstart's third
 * cell shows a one-second ticker running while a story streams; the tiny local model writes its
 * whole context in under a second on the CPU, so there is nothing to tick through. Fronted by
 * genai-local (`--upstream story=openai:URL,model=story`), the story streams for
 * words × intervalMs on any machine, through the same upstream path vLLM would take. Two short
 * replies start with a piece of one character: `comma` (", then more") and `digit` ("4", then,
 * one interval later, the end); their interval is at least SHORT_REPLY_MIN_MS, so that a client
 * can tell their pieces apart even on a loaded machine.
 *
 * Standalone (for the Python suite): `tsx test/support/paced-upstream.ts [intervalMs]` prints its
 * base URL, then serves until stdin closes or it gets SIGTERM.
 */
export const STORY_MODEL = "story";
export const COMMA_MODEL = "comma";
export const DIGIT_MODEL = "digit";

export const STORY = `Once upon a time, in a small town by the sea, there lived a girl named Mia who loved to
collect shells. Every morning she walked along the beach with her little red bucket, looking for
the shiniest ones. One day she found a shell that was bigger than her hand and sang softly when
she held it to her ear. Mia ran home to show her grandmother, who smiled and said that the shell
had come from far away, where the whales sing to the moon. That night Mia put the shell beside her
bed and listened to its song until she fell asleep. She dreamed of swimming with the whales under
a silver sky, and of a friendly turtle who showed her a garden of coral full of bright fish. When
she woke up, the shell was quiet, but a tiny pearl lay beside it on the pillow. Mia kept the pearl
in a box under her bed. Every summer after that, she walked to the end of the beach, held the
shell to her ear and said thank you to the sea. And the sea, in its own slow way, always answered
with a wave that washed over her toes and made her laugh. The end.`.replace(/\s+/g, " ");

export interface PacedUpstream {
  /** Base URL of the OpenAI surface, ending in /v1. */
  url: string;
  close(): Promise<void>;
}

const chunk = (delta: object, finish: string | null = null, usage?: object) =>
  `data: ${JSON.stringify({ id: "paced", object: "chat.completion.chunk", created: 0, model: STORY_MODEL, choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;

const SHORT_REPLY_MIN_MS = 100;

export async function startPacedUpstream(intervalMs = 20): Promise<PacedUpstream> {
  const replies: Record<string, string[]> = { [STORY_MODEL]: STORY.split(/(?= )/), [COMMA_MODEL]: [",", " then", " more"], [DIGIT_MODEL]: ["4"] };
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: Object.keys(replies).map((id) => ({ id, object: "model", max_model_len: 4096 })) }));
      return;
    }
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end();
      return;
    }
    let body = "";
    req.on("data", (piece: Buffer) => (body += piece));
    req.on("end", () => {
      const request = JSON.parse(body) as { model?: string; max_tokens?: number; messages?: { content?: unknown }[] };
      const short = request.model === COMMA_MODEL || request.model === DIGIT_MODEL;
      const words = short ? replies[request.model!]! : replies[STORY_MODEL]!;
      const pace = short ? Math.max(intervalMs, SHORT_REPLY_MIN_MS) : intervalMs;
      const limit = Math.min(words.length, request.max_tokens ?? words.length);
      const promptTokens = JSON.stringify(request.messages ?? []).split(/\s+/).length;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(chunk({ role: "assistant", content: "" }));
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < limit) {
          res.write(chunk({ content: words[sent++] }));
          return;
        }
        clearInterval(timer);
        const usage = { prompt_tokens: promptTokens, completion_tokens: sent, total_tokens: promptTokens + sent };
        res.end(chunk({}, sent < words.length ? "length" : "stop", usage) + "data: [DONE]\n\n");
      }, pace);
      res.on("close", () => clearInterval(timer)); // the client went away: stop writing
    });
  });
  return listenOnLoopback(server);
}

await serveIfRunAsScript(import.meta.url, () => startPacedUpstream(Number(process.argv[2] ?? 20)));
