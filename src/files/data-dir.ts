import os from "node:os";
import path from "node:path";
import { environment } from "../base/config.js";

/** Where uploaded files are kept unless --data-dir says: the user's state directory (XDG), not a cache that may be cleared. */
export function defaultDataDir(): string {
  const configured = environment.dataDir();
  if (configured) return path.resolve(configured);
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Application Support", "genai-local");
  if (process.platform === "win32") return path.join(environment.localAppData() ?? path.join(os.homedir(), "AppData", "Local"), "genai-local");
  const stateHome = environment.xdgStateHome() ?? path.join(os.homedir(), ".local", "state");
  return path.join(stateHome, "genai-local");
}
