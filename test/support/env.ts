import path from "node:path";
import { fileURLToPath } from "node:url";

// Tests use the small real models shipped beside the project (../shared/models) unless told otherwise.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
process.env.GENAI_LOCAL_MODELS_DIR ??= path.resolve(repoRoot, "../shared/models");
