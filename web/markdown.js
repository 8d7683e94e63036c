// Markdown for model replies. Model output is untrusted text: raw HTML in it is shown as
// text (never parsed), images become plain links (so a reply cannot make the page fetch an
// address of its choosing), and DOMPurify then keeps only the tags plain Markdown produces.
import { Marked } from "./vendor/marked.js";
import DOMPurify from "./vendor/purify.js";

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]);

const markdown = new Marked({
  async: false,
  gfm: true,
  breaks: true,
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
  },
});

const SANITIZE = {
  ALLOWED_TAGS: [
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
  ],
  ALLOWED_ATTR: ["href", "title", "start", "align"],
  RETURN_DOM_FRAGMENT: true,
};

// Links open in a new tab so that following one does not throw the chat away.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** Renders Markdown from a model into a sanitised DocumentFragment, ready to append. */
export function renderMarkdown(text) {
  return DOMPurify.sanitize(markdown.parse(String(text)), SANITIZE);
}
