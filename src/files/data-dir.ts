import os from "node:os";
import path from "node:path";

/** Where uploaded files are kept unless --data-dir says: the user's state directory (XDG), not a cache that may be cleared. */
export function defaultDataDir(): string {
  if (process.env.GENAI_LOCAL_DATA_DIR) return path.resolve(process.env.GENAI_LOCAL_DATA_DIR);
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Application Support", "genai-local");
  if (process.platform === "win32") return path.join(process.env.LOCALAPPDATA || path.join(os.homedir(), "AppData", "Local"), "genai-local");
  const stateHome = process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
  return path.join(stateHome, "genai-local");
}
