// The server's Gemini API (v1beta), as the page uses it: models.list and streamGenerateContent.

/** A failure from the server or the network, with a message worded for a person. */
export class ApiProblem extends Error {
  constructor(message, { httpStatus = 0, status = "", reason = "", midStream = false } = {}) {
    super(message);
    this.name = "ApiProblem";
    this.httpStatus = httpStatus;
    this.status = status;
    this.reason = reason;
    this.midStream = midStream;
  }

  /** True when entering (or fixing) the API key is what would help. */
  get keyProblem() {
    return this.httpStatus === 403 || this.reason === "API_KEY_INVALID";
  }
}

const keyHeader = (apiKey) => (apiKey ? { "x-goog-api-key": apiKey } : {});

/** The models that can generate text, as [{ id, displayName, inputTokenLimit, outputTokenLimit }]. */
export async function listModels(apiKey, signal) {
  const models = [];
  let pageToken = "";
  do {
    const query = pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : "";
    const response = await request(`/v1beta/models${query}`, { headers: keyHeader(apiKey), signal });
    const body = await response.json();
    models.push(...(body.models ?? []));
    pageToken = body.nextPageToken ?? "";
  } while (pageToken);
  return models
    .filter((m) => !m.supportedGenerationMethods || m.supportedGenerationMethods.includes("streamGenerateContent"))
    .map((m) => ({ ...m, id: String(m.name).replace(/^models\//, "") }));
}

/**
 * POSTs a GenerateContentRequest and yields each streamed GenerateContentResponse chunk.
 * An error event in the stream is thrown as an ApiProblem with midStream set.
 */
export async function* streamGenerate({ model, apiKey, body, signal }) {
  const url = `/v1beta/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`;
  const response = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...keyHeader(apiKey) },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.body) throw new ApiProblem("The server answered without a body.");
  for await (const event of sseEvents(response.body)) {
    if (event.error) {
      const { code, status, message } = event.error;
      throw new ApiProblem(`The reply broke off: ${label(code, status)}${message ? ` ${message}` : ""}`, {
        httpStatus: code ?? 0,
        status: status ?? "",
        midStream: true,
      });
    }
    yield event;
  }
}

/** Parses a text/event-stream body: events end at a blank line; `data:` lines hold the JSON. */
export async function* sseEvents(stream) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const events = buffer.split(/\r\n\r\n|\n\n|\r\r/);
      buffer = events.pop() ?? "";
      for (const event of events) {
        const parsed = parseEvent(event);
        if (parsed !== undefined) yield parsed;
      }
    }
    const last = parseEvent(buffer);
    if (last !== undefined) yield last;
  } finally {
    // Left early (an error event, or the caller stopped): let go of the connection too.
    await reader.cancel().catch(() => {});
  }
}

function parseEvent(block) {
  const data = block
    .split(/\r\n|\n|\r/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
  if (data.length === 0) return undefined;
  try {
    return JSON.parse(data.join("\n"));
  } catch {
    throw new ApiProblem(`The server sent an event that is not JSON: ${data.join("\n").slice(0, 200)}`, { midStream: true });
  }
}

async function request(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiProblem(`Could not reach the server (${error?.message ?? error}).`);
  }
  if (!response.ok) throw await problemFrom(response);
  return response;
}

const label = (code, status) => [code, status].filter(Boolean).join(" ");

/** Turns an HTTP error ({"error": {code, message, status, details}}) into an ApiProblem. */
async function problemFrom(response) {
  let error = {};
  try {
    error = (await response.json()).error ?? {};
  } catch {
    // Not Google's shape (a proxy's page, say): the status line is all there is.
  }
  const code = response.status;
  const status = error.status ?? response.statusText;
  const reason = (error.details ?? []).find((d) => d?.reason)?.reason ?? "";
  const said = error.message ? ` The server said: ${error.message}` : "";
  const what = label(code, status);
  let message;
  if (code === 403) message = `This server needs an API key (${what}). Enter it in the API key field under Settings.`;
  else if (reason === "API_KEY_INVALID") message = `The API key was not accepted (${what}). Check the API key field under Settings.`;
  else if (code === 429) {
    const retry = response.headers.get("retry-after");
    message = `The server is busy (${what}). Try again ${retry ? `in ${retry} s` : "in a moment"}.${said}`;
  } else if (code === 404) message = `Not found (${what}).${said}`;
  else message = `The server answered ${what}.${said}`;
  return new ApiProblem(message, { httpStatus: code, status, reason });
}
