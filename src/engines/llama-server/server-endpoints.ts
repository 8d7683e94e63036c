import { Agent, request } from "undici";
import { ApiError } from "../../base/api-error.js";
import type { PromptInput } from "../engine.js";
import { toChatMessages } from "../upstream/openai-messages.js";

/**
 * llama-server's own endpoints beside the OpenAI wire: /tokenize and /apply-template for
 * countTokens, /completion with n_predict 0 to evaluate a prompt into a slot, /slots to save and
 * restore a slot's state (cached contents).
 */
export class ServerEndpoints {
  private readonly agent: Agent;

  constructor(
    private readonly baseUrl: string,
    socketPath: string,
    /** What the server serves, for messages. */
    private readonly label: string,
  ) {
    // A connection per request, as for generation (see LlamaServerEngine.launch).
    this.agent = new Agent({ connect: { timeout: 5_000, socketPath }, pipelining: 0 });
  }

  private async post<T>(path: string, body?: object): Promise<T> {
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${this.baseUrl}${path}`, {
        method: body ? "POST" : "GET",
        headers: { "content-type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
        dispatcher: this.agent,
      });
    } catch (error) {
      throw new ApiError("UNAVAILABLE", `The llama-server for ${this.label} is unreachable: ${error instanceof Error ? error.message : String(error)}`);
    }
    const text = await response.body.text();
    if (response.statusCode === 200) return JSON.parse(text) as T;
    const detail = `The llama-server for ${this.label} answered ${response.statusCode} to ${path}: ${text.slice(0, 500)}`;
    throw new ApiError(response.statusCode >= 400 && response.statusCode < 500 ? "INVALID_ARGUMENT" : "UNAVAILABLE", detail);
  }

  /** Whether the model's chat template takes tool declarations and writes calls llama-server can parse (its /props). */
  async templateTakesTools(): Promise<boolean> {
    const props = await this.post<{ chat_template_caps?: { supports_tools?: boolean; supports_tool_calls?: boolean } }>("/props");
    return props.chat_template_caps?.supports_tools === true && props.chat_template_caps.supports_tool_calls === true;
  }

  /** What the model takes besides text, as llama-server's /props says once a projector is loaded (--mmproj). */
  async inputModalities(): Promise<{ vision: boolean; audio: boolean }> {
    const props = await this.post<{ modalities?: { vision?: boolean; audio?: boolean } }>("/props");
    return { vision: props.modalities?.vision === true, audio: props.modalities?.audio === true };
  }

  /** The prompt's tokens as the server counts a prompt string: special tokens parsed, BOS added where the model wants it. */
  async tokenize(text: string): Promise<number[]> {
    const { tokens } = await this.post<{ tokens: number[] }>("/tokenize", { content: text, add_special: true, parse_special: true });
    return tokens;
  }

  /** The prompt rendered by the model's chat template, as /v1/chat/completions renders it; `openModelTurn: false` for a prefix more turns follow. */
  async applyTemplate(prompt: PromptInput, openModelTurn: boolean): Promise<string> {
    const { prompt: text } = await this.post<{ prompt: string }>("/apply-template", { messages: toChatMessages(prompt), add_generation_prompt: openModelTurn });
    return text;
  }

  /** Evaluates a prompt into slot `slot`, generating nothing. */
  async evaluate(text: string, slot: number): Promise<void> {
    await this.post("/completion", { prompt: text, n_predict: 0, cache_prompt: true, id_slot: slot });
  }

  /** The slots not working on a request now. */
  async idleSlots(): Promise<number[]> {
    const slots = await this.post<{ id: number; is_processing: boolean }[]>("/slots");
    return slots.filter((slot) => !slot.is_processing).map((slot) => slot.id);
  }

  /** Saves the slot's KV state and tokens as `filename` in the --slot-save-path directory; returns the tokens saved. */
  async saveSlot(slot: number, filename: string): Promise<number> {
    const { n_saved: saved } = await this.post<{ n_saved: number }>(`/slots/${slot}?action=save`, { filename });
    return saved;
  }

  /** Empties the slot, so that the next prompt there is evaluated whole. */
  async eraseSlot(slot: number): Promise<void> {
    await this.post(`/slots/${slot}?action=erase`, {});
  }

  /** Loads a state saveSlot wrote into the slot (llama-server waits until the slot is free). */
  async restoreSlot(slot: number, filename: string): Promise<void> {
    await this.post(`/slots/${slot}?action=restore`, { filename });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
