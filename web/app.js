// The playground's controller: settings, the model list, sending, stopping and chat history.
import { ApiProblem, listModels, streamGenerate } from "./api.js";
import { acceptFor, attachmentLabel, describeInputs, mediaModalities, refusal, renderAttachments, toInlinePart } from "./attachments.js";
import { addModelTurn, addUserTurn, figures } from "./view.js";

const $ = (id) => document.getElementById(id);
const ui = {
  settings: $("settings"),
  model: $("model"),
  modelInfo: $("model-info"),
  modelInputs: $("model-inputs"),
  system: $("system"),
  temperature: $("temperature"),
  maxTokens: $("max-tokens"),
  showThoughts: $("show-thoughts"),
  apiKey: $("api-key"),
  notice: $("notice"),
  history: $("history"),
  composer: $("composer"),
  prompt: $("prompt"),
  send: $("send"),
  stop: $("stop"),
  newChat: $("new-chat"),
  attach: $("attach"),
  attachInput: $("attach-input"),
  attachReason: $("attach-reason"),
  attachments: $("attachments"),
};

const KEY_STORAGE = "genai-local.apiKey";
/** The conversation as sent in `contents`: [{ role: "user" | "model", text, parts? }] (parts: a turn with media). */
const history = [];
/** Files attached to the next prompt. */
let attached = [];
let models = [];
let running = null; // the AbortController of the reply being streamed
let reading = false; // attachments being read for a send
let conversation = 0; // bumped by New chat, so that a reply ending afterwards stays out of the new one
const touchScreen = window.matchMedia("(pointer: coarse)").matches;

function showNotice(message, { keyProblem = false } = {}) {
  ui.notice.textContent = message;
  ui.notice.hidden = false;
  ui.apiKey.classList.toggle("attention", keyProblem);
  if (keyProblem) {
    ui.settings.open = true;
    ui.apiKey.focus();
  }
}

function clearNotice() {
  ui.notice.hidden = true;
  ui.notice.textContent = "";
  ui.apiKey.classList.remove("attention");
}

const describe = (error) => (error instanceof ApiProblem ? error.message : `Something went wrong: ${error?.message ?? error}`);

async function loadModels() {
  const previous = ui.model.value;
  try {
    models = await listModels(ui.apiKey.value);
  } catch (error) {
    models = [];
    ui.model.replaceChildren();
    ui.modelInfo.textContent = "";
    describeModel();
    showNotice(describe(error), { keyProblem: error instanceof ApiProblem && error.keyProblem });
    return;
  }
  clearNotice();
  ui.model.replaceChildren(
    ...models.map((m) => {
      const option = new Option(m.displayName && m.displayName !== m.id ? `${m.displayName} (${m.id})` : m.id, m.id);
      return option;
    }),
  );
  if (models.some((m) => m.id === previous)) ui.model.value = previous;
  if (models.length === 0) showNotice("The server lists no model that can generate text.");
  describeModel();
}

function describeModel() {
  const model = models.find((m) => m.id === ui.model.value);
  ui.modelInfo.textContent = model
    ? `Context ${model.inputTokenLimit ?? "?"} tokens, up to ${model.outputTokenLimit ?? "?"} out.`
    : "";
  if (model?.outputTokenLimit) ui.maxTokens.max = String(model.outputTokenLimit);
  else ui.maxTokens.removeAttribute("max");
  ui.modelInputs.textContent = model ? describeInputs(model) : "";
  ui.modelInputs.dataset.modalities = model ? ["TEXT", ...mediaModalities(model)].join(",") : "";
  // Attach is for models that read media; for the others it is off, and the page says why.
  const takesMedia = mediaModalities(model).length > 0;
  ui.attach.disabled = !takesMedia;
  ui.attachInput.accept = acceptFor(model);
  const reason = model && !takesMedia ? `${model.id} takes text only: it cannot read images, audio or PDFs.` : "";
  ui.attach.title = reason;
  ui.attachReason.textContent = reason;
  ui.attachReason.hidden = reason === "";
  showAttachments();
}

const currentModel = () => models.find((m) => m.id === ui.model.value);

function showAttachments() {
  renderAttachments(ui.attachments, attached, currentModel(), (index) => {
    attached.splice(index, 1);
    showAttachments();
  });
}

function applyApiKey() {
  const key = ui.apiKey.value.trim();
  ui.apiKey.value = key;
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  return loadModels();
}

const numberFrom = (input) => (input.value.trim() === "" ? undefined : Number(input.value));

/** The GenerateContentRequest for the history so far (empty turns, such as a reply stopped at once, left out). */
function buildRequest() {
  const body = {
    contents: history.filter((t) => t.text !== "" || t.parts).map((t) => ({ role: t.role, parts: t.parts ?? [{ text: t.text }] })),
  };
  const system = ui.system.value.trim();
  if (system) body.systemInstruction = { parts: [{ text: system }] };
  const generationConfig = {
    temperature: numberFrom(ui.temperature),
    maxOutputTokens: numberFrom(ui.maxTokens),
    thinkingConfig: ui.showThoughts.checked ? { includeThoughts: true } : undefined,
  };
  for (const [key, value] of Object.entries(generationConfig)) if (value === undefined) delete generationConfig[key];
  if (Object.keys(generationConfig).length) body.generationConfig = generationConfig;
  return body;
}

function setRunning(controller) {
  running = controller;
  ui.send.disabled = controller !== null;
  ui.stop.disabled = controller === null;
  document.body.classList.toggle("streaming", controller !== null);
}

async function send() {
  const text = ui.prompt.value;
  if (running || reading || (text.trim() === "" && attached.length === 0)) return;
  const model = ui.model.value;
  if (!model) {
    showNotice("There is no model to send to yet. If the server needs an API key, enter it under Settings.");
    return;
  }
  const refused = attached.map((file) => refusal(file, currentModel())).find(Boolean);
  if (refused) {
    showNotice(`${refused} Remove the attachment or pick another model.`);
    return;
  }
  clearNotice();
  const files = attached;
  let parts;
  reading = true;
  try {
    parts = files.length ? [...(text.trim() ? [{ text }] : []), ...(await Promise.all(files.map(toInlinePart)))] : undefined;
  } catch (error) {
    showNotice(describe(error));
    return;
  } finally {
    reading = false;
  }
  attached = [];
  showAttachments();
  history.push(parts ? { role: "user", text, parts } : { role: "user", text });
  const userItem = addUserTurn(ui.history, text, files.map(attachmentLabel));
  ui.prompt.value = "";
  const reply = addModelTurn(ui.history, model);
  const controller = new AbortController();
  const thisConversation = conversation;
  setRunning(controller);

  const started = performance.now();
  let firstTokenAt = 0;
  let replyText = "";
  let thoughtText = "";
  let usage;
  let finishReason;
  try {
    const body = buildRequest();
    for await (const chunk of streamGenerate({ model, apiKey: ui.apiKey.value, body, signal: controller.signal })) {
      const candidate = chunk.candidates?.[0];
      const parts = candidate?.content?.parts ?? [];
      // Thought parts (thought: true) come first and are shown apart; they are not the reply.
      const thought = parts.filter((p) => p.thought).map((p) => p.text ?? "").join("");
      if (thought) {
        thoughtText += thought;
        reply.setThought(thoughtText);
      }
      const piece = parts.filter((p) => !p.thought).map((p) => p.text ?? "").join("");
      if (piece) {
        firstTokenAt ||= performance.now();
        replyText += piece;
        reply.setText(replyText);
      }
      reply.setModelVersion(chunk.modelVersion);
      usage = chunk.usageMetadata ?? usage;
      finishReason = candidate?.finishReason ?? finishReason;
      reply.setFigures(figures({ started, firstTokenAt, now: performance.now(), usage }));
    }
    if (!finishReason) throw new ApiProblem("The stream ended without a finish reason: the connection may have dropped.", { midStream: true });
    history.push({ role: "model", text: replyText });
    reply.finish(finishReason);
  } catch (error) {
    const stopped = controller.signal.aborted;
    if (thisConversation !== conversation) return;
    if (!stopped && replyText === "" && !error?.midStream) {
      // Nothing came back: undo the turn and give the prompt back, so it can be sent again.
      history.pop();
      userItem.remove();
      reply.remove();
      if (ui.prompt.value === "") ui.prompt.value = text;
      if (attached.length === 0) {
        attached = files;
        showAttachments();
      }
      showNotice(describe(error), { keyProblem: error instanceof ApiProblem && error.keyProblem });
    } else {
      // Keep what arrived; it is part of the conversation from here on.
      history.push({ role: "model", text: replyText });
      reply.finish(stopped ? "STOPPED" : "ERROR", stopped ? "Stopped." : describe(error));
    }
  } finally {
    setRunning(null);
    if (!touchScreen) ui.prompt.focus(); // on a phone this would cover the reply with the keyboard
  }
}

function stop() {
  running?.abort();
}

function newChat() {
  conversation += 1;
  stop();
  history.length = 0;
  ui.history.replaceChildren();
  clearNotice();
  ui.prompt.focus();
}

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  void send();
});
ui.prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    void send();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && running) {
    event.preventDefault();
    stop();
  }
});
ui.stop.addEventListener("click", stop);
ui.newChat.addEventListener("click", newChat);
ui.model.addEventListener("change", describeModel);
ui.attach.addEventListener("click", () => ui.attachInput.click());
ui.attachInput.addEventListener("change", () => {
  attached.push(...ui.attachInput.files);
  ui.attachInput.value = "";
  showAttachments();
});
ui.apiKey.addEventListener("change", () => {
  if (ui.apiKey.value.trim() !== (sessionStorage.getItem(KEY_STORAGE) ?? "")) void applyApiKey();
});
ui.apiKey.addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    void applyApiKey(); // also a retry when the key is unchanged
  }
});

// Settings start folded on a phone-width screen, so the chat gets the room.
if (window.matchMedia("(max-width: 720px)").matches) ui.settings.open = false;
ui.apiKey.value = sessionStorage.getItem(KEY_STORAGE) ?? "";
void loadModels();
ui.prompt.focus();
