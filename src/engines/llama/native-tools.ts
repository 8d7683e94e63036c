import { LlamaText, SpecialToken, SpecialTokensText, type ChatModelFunctions, type ChatWrapper, type LlamaTextInputValue } from "node-llama-cpp";
import type { FunctionDeclaration, ToolCallFormat } from "../engine.js";

/**
 * node-llama-cpp gives every chat wrapper a function-calling syntax; wrappers of models trained
 * for tools (Llama 3.1+, Qwen, Mistral, Functionary, DeepSeek, Seed, Harmony, Gemma 4, and Jinja
 * templates with a tool section) carry the model's own, the others inherit this generic one,
 * which no model was trained on: those keep genai-local's JSON-in-the-system-instruction format.
 */
const GENERIC_CALL_PREFIX = "||call: ";

/** Plain text of a wrapper's syntax piece; `upToSpecial`: only what comes before a special token (it ends generation, or is not rendered). */
function plain(value: LlamaTextInputValue | undefined, upToSpecial = false): string {
  if (value === undefined) return "";
  let out = "";
  for (const part of LlamaText(value).values) {
    if (typeof part === "string") out += part;
    else if (upToSpecial) break;
    else if (part instanceof SpecialTokensText) out += part.value;
    else if (part instanceof SpecialToken) break;
  }
  return out;
}

/** The model's own call format, when its chat wrapper has one. */
export function nativeToolCallFormat(wrapper: ChatWrapper): ToolCallFormat | undefined {
  const { call, parallelism } = wrapper.settings.functions;
  const prefix = plain(call.prefix);
  if (prefix.trim() === "" || prefix === GENERIC_CALL_PREFIX) return undefined;
  const paramsPrefix = plain(call.paramsPrefix);
  // Without a text between name and arguments a call cannot be read back.
  if (paramsPrefix === "") return undefined;
  const format: ToolCallFormat = { name: wrapper.wrapperName, prefix, paramsPrefix, suffix: plain(call.suffix, true) };
  if (parallelism) {
    format.sectionPrefix = plain(parallelism.call.sectionPrefix, true);
    format.betweenCalls = plain(parallelism.call.betweenCalls, true);
    format.sectionSuffix = plain(parallelism.call.sectionSuffix, true);
  }
  return format;
}

/** Declarations as node-llama-cpp's wrappers document them to the model. */
export function chatModelFunctions(functions: FunctionDeclaration[]): ChatModelFunctions {
  const out: Record<string, ChatModelFunctions[string]> = {};
  for (const f of functions) {
    const hasParams = Object.keys((f.parameters.properties as object | undefined) ?? {}).length > 0;
    // The schema was normalised by toGrammarSchema; node-llama-cpp's schema type is too deep to express here.
    out[f.name] = { description: f.description, params: hasParams ? (f.parameters as never) : undefined };
  }
  return out;
}

/** A GBNF string literal. */
export const gbnfLiteral = (value: string): string =>
  JSON.stringify(value).replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => (hex.startsWith("00") ? `\\x${hex.slice(2)}` : `\\u${hex}`));

/**
 * Renames every rule of a GBNF grammar with `prefix`, so several compiled grammars can share one
 * file: rule names are renamed where defined and where referenced, never inside string literals
 * or character classes.
 */
export function prefixRules(gbnf: string, prefix: string): string {
  const lines = gbnf.split("\n").filter((line) => line.trim() !== "");
  const names = new Set(lines.map((line) => line.slice(0, line.indexOf("::=")).trim()));
  return lines
    .map((line) => {
      const at = line.indexOf("::=");
      return `${prefix}${line.slice(0, at).trim()} ::= ${renameInBody(line.slice(at + 3), names, prefix)}`;
    })
    .join("\n");
}

function renameInBody(body: string, names: Set<string>, prefix: string): string {
  let out = "";
  let i = 0;
  while (i < body.length) {
    const c = body[i] as string;
    if (c === '"' || c === "[") {
      const close = c === '"' ? '"' : "]";
      let j = i + 1;
      while (j < body.length && body[j] !== close) j += body[j] === "\\" ? 2 : 1;
      out += body.slice(i, j + 1);
      i = j + 1;
    } else if (/[A-Za-z0-9-]/.test(c)) {
      let j = i;
      while (j < body.length && /[A-Za-z0-9-]/.test(body[j] as string)) j++;
      const word = body.slice(i, j);
      out += names.has(word) ? prefix + word : word;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * One call of one of `functions`, in `format`: prefix, a declared name, the params prefix,
 * arguments valid for that function (`argsGrammar`: its compiled JSON-schema grammar), suffix.
 */
export function callGrammar(format: ToolCallFormat, functions: { name: string; argsGrammar: string }[]): string {
  const rules = functions.map((f, i) => {
    // The JSON-schema grammar ends its root with blank lines that stop a plain JSON reply; a call goes on.
    const args = prefixRules(f.argsGrammar.replace(/^(root ::= .*?)(?:\s+"\\n\\n\\n\\n" \[\\n\]\*)$/m, "$1"), `f${i}-`);
    return `f${i} ::= ${gbnfLiteral(f.name)} ${gbnfLiteral(format.paramsPrefix)} f${i}-root\n${args}`;
  });
  const open = (format.sectionPrefix ?? "") + format.prefix.trimStart();
  const close = format.suffix + (format.sectionSuffix ?? "");
  const parts = [gbnfLiteral(open), `(${functions.map((_, i) => `f${i}`).join(" | ")})`, close ? gbnfLiteral(close) : ""].filter(Boolean);
  return [`root ::= ${parts.join(" ")}`, ...rules].join("\n");
}
