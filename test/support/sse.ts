/** Reads a Gemini SSE response to its end, noting when each event arrived. */
export async function readEvents(response: Response, started = performance.now()): Promise<{ at: number; data: Record<string, any> }[]> {
  const out: { at: number; data: Record<string, any> }[] = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    buffer += decoder.decode(part.value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\r\n\r\n")) !== -1) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 4);
      out.push({ at: performance.now() - started, data: JSON.parse(event.slice("data: ".length)) });
    }
  }
  return out;
}

export function postStream(
  baseUrl: string,
  body: unknown,
  init: { model?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${baseUrl}/v1beta/models/${init.model ?? "stories-260k"}:streamGenerateContent?alt=sse`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...init.headers },
    body: JSON.stringify(body),
    signal: init.signal,
  });
}

export const storyRequest = (maxOutputTokens: number, text = "Once upon a time") => ({
  contents: [{ role: "user", parts: [{ text }] }],
  generationConfig: { maxOutputTokens },
});
