// The chat history's DOM: one <li> per turn. User text is shown as typed (textContent);
// model text goes through renderMarkdown.
import { renderMarkdown } from "./markdown.js";

const STATS = [
  ["ttft", "first token"],
  ["rate", "tokens/s"],
  ["prompt", "prompt tokens"],
  ["output", "output tokens"],
  ["thoughts", "thought tokens"],
  ["finish", "finish"],
];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function keepScrolledDown(list, change) {
  // On wide screens the history scrolls by itself; on a phone the whole page does.
  const scroller = getComputedStyle(list).overflowY === "auto" ? list : document.scrollingElement;
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
  change();
  if (atBottom) scroller.scrollTop = scroller.scrollHeight;
}

/** `attachments`: how each attached file is named, listed under the text. */
export function addUserTurn(list, text, attachments = []) {
  const item = element("li", "turn user");
  item.append(element("div", "who", "You"), element("div", "body plain", text));
  if (attachments.length) {
    const attached = element("ul", "attached");
    attached.append(...attachments.map((label) => element("li", "", label)));
    item.append(attached);
  }
  keepScrolledDown(list, () => list.append(item));
  return item;
}

/** A model turn whose text and figures are filled in as the stream arrives. */
export function addModelTurn(list, model) {
  const item = element("li", "turn model");
  item.dataset.model = model;
  item.setAttribute("aria-busy", "true");
  const body = element("div", "body markdown");
  const stats = element("dl", "stats");
  const cells = {};
  for (const [key, name] of STATS) {
    const value = element("dd", "", "—");
    value.dataset.stat = key;
    cells[key] = value;
    const pair = element("div");
    pair.append(element("dt", "", name), value);
    stats.append(pair);
  }
  const problem = element("p", "turn-error");
  problem.hidden = true;
  const who = element("div", "who", model);
  // The model's thoughts, folded above the answer: shown once the first one arrives, opened on a click.
  const thoughts = element("details", "thoughts");
  const thoughtsLabel = element("summary", "", "Thinking…");
  const thoughtsBody = element("div", "thoughts-body plain");
  thoughts.append(thoughtsLabel, thoughtsBody);
  thoughts.hidden = true;
  item.append(who, thoughts, body, problem, stats);
  keepScrolledDown(list, () => list.append(item));

  // Re-render at most once a frame: chunks can arrive far faster than the screen shows them.
  let pending = null;
  const flush = () => {
    if (pending === null) return;
    const markdown = pending;
    pending = null;
    keepScrolledDown(list, () => body.replaceChildren(renderMarkdown(markdown)));
  };
  return {
    element: item,
    /** The thoughts so far (plain text: a model's reasoning is rarely Markdown, and never trusted as HTML). */
    setThought(text) {
      thoughts.hidden = false;
      keepScrolledDown(list, () => (thoughtsBody.textContent = text));
    },
    setText(markdown) {
      if (!thoughts.hidden) thoughtsLabel.textContent = "Thoughts";
      if (pending === null) requestAnimationFrame(flush);
      pending = markdown;
    },
    /** The model the server says answered (modelVersion), when it names one. */
    setModelVersion(version) {
      if (!version || item.dataset.modelVersion === version) return;
      item.dataset.modelVersion = version;
      who.textContent = version === model ? model : `${model} → ${version}`;
    },
    setFigures(figures) {
      for (const [key, value] of Object.entries(figures)) if (cells[key] && value !== undefined) cells[key].textContent = value;
    },
    /** Marks the turn complete; `outcome` is the finish reason or what ended it early. */
    finish(outcome, problemText) {
      flush();
      thoughtsLabel.textContent = "Thoughts";
      item.removeAttribute("aria-busy");
      item.dataset.finishReason = outcome;
      cells.finish.textContent = outcome;
      if (problemText) {
        problem.textContent = problemText;
        problem.hidden = false;
        item.classList.add("failed");
      }
    },
    remove: () => item.remove(),
  };
}

const round = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : undefined);

/** The figures shown under a reply, from timings (ms, performance.now) and usageMetadata. */
export function figures({ started, firstTokenAt, now, usage }) {
  const out = {
    prompt: usage?.promptTokenCount?.toString(),
    output: usage?.candidatesTokenCount?.toString(),
    thoughts: usage?.thoughtsTokenCount?.toString(),
  };
  if (firstTokenAt) out.ttft = `${Math.round(firstTokenAt - started)} ms`;
  const generated = usage?.candidatesTokenCount ?? 0;
  const seconds = (now - firstTokenAt) / 1000;
  // Decode speed: tokens after the first, over the time since the first arrived.
  if (firstTokenAt && generated > 1 && seconds > 0.005) out.rate = round((generated - 1) / seconds, 1);
  return out;
}
