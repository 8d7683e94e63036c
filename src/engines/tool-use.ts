import { randomId } from "../base/random-id.js";
import type { ToolUse } from "./engine.js";

/** An id for a function call that came without one. */
export const newCallId = (): string => `call_${randomId(9)}`;

/** The functions the model may call now. */
export function callableFunctions(tools: ToolUse) {
  if (tools.mode === "NONE") return [];
  const allowed = tools.allowed;
  return allowed?.length ? tools.functions.filter((f) => allowed.includes(f.name)) : tools.functions;
}
