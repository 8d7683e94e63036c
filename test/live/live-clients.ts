import { GoogleGenAI, type LiveConnectParameters, type LiveServerMessage, type Session } from "@google/genai";
import { WebSocket } from "ws";

/** The chat model the Live tests talk to (a real ChatML model, so replies are answers). */
export const CHAT_MODEL = "smol";
export const CHAT_MODEL_SPEC = `${CHAT_MODEL}=SmolLM2-135M-Instruct.Q4_1.gguf`;

/** Messages of one Live session, in order, with a way to wait for the next that matches. */
export class Inbox<Message> {
  readonly all: Message[] = [];
  private read = 0;
  private waiting: (() => void) | undefined;
  closed: { code: number; reason: string } | undefined;

  push(message: Message): void {
    this.all.push(message);
    this.waiting?.();
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.waiting?.();
  }

  /** Messages up to and including the first unread one that matches; fails on close or timeout. */
  async until(match: (message: Message) => boolean, timeoutMs = 60_000): Promise<Message[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.all.findIndex((m, i) => i >= this.read && match(m));
      if (at !== -1) {
        const taken = this.all.slice(this.read, at + 1);
        this.read = at + 1;
        return taken;
      }
      if (this.closed) throw new Error(`session closed (${this.closed.code} ${this.closed.reason}) before the awaited message`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a Live message");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** `ai.live.connect` with an Inbox behind its callbacks. */
export async function connectSdk(baseUrl: string, params: Omit<LiveConnectParameters, "callbacks">, apiKey = "k"): Promise<{ session: Session; inbox: Inbox<LiveServerMessage> }> {
  const ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl } });
  const inbox = new Inbox<LiveServerMessage>();
  const session = await ai.live.connect({
    ...params,
    callbacks: { onmessage: (m) => inbox.push(m), onclose: (e) => inbox.close(e.code, e.reason) },
  });
  return { session, inbox };
}

export const liveUrl = (baseUrl: string, key = "k", version = "v1beta"): string =>
  `${baseUrl.replace(/^http/, "ws")}/ws/google.ai.generativelanguage.${version}.GenerativeService.BidiGenerateContent?key=${key}`;

/** A raw WebSocket (the `ws` library the JS SDK itself uses), for what the SDKs do not send. */
export async function connectRaw(
  url: string,
  options: { ca?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ socket: WebSocket; inbox: Inbox<Record<string, unknown>>; ended: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(url, options);
  const inbox = new Inbox<Record<string, unknown>>();
  socket.on("message", (data) => inbox.push(JSON.parse(String(data)) as Record<string, unknown>));
  const ended = closed(socket, 30_000);
  ended.then(({ code, reason }) => inbox.close(code, reason), () => undefined);
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { socket, inbox, ended };
}

/** Resolves with the close code and reason once the server closes the socket. */
export function closed(socket: WebSocket, timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not close the socket")), timeoutMs);
    socket.once("close", (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

export const isText = (m: LiveServerMessage | Record<string, unknown>): boolean =>
  Boolean((m as LiveServerMessage).serverContent?.modelTurn?.parts?.some((p) => typeof p.text === "string" && p.text.length > 0));
export const replyText = (messages: (LiveServerMessage | Record<string, unknown>)[]): string =>
  messages.map((m) => ((m as LiveServerMessage).serverContent?.modelTurn?.parts ?? []).map((p) => p.text ?? "").join("")).join("");
