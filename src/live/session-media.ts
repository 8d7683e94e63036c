import type { ModelInfo } from "../engines/engine.js";
import { newMediaContext, type MediaContext } from "../gemini/media.js";
import type { Content } from "../gemini/protocol.js";
import { toPromptInput } from "../gemini/translate.js";

type LoadedFiles = ReadonlyMap<string, { mimeType: string; data: string }>;

const hasPart = (turns: Content[], has: (part: NonNullable<Content["parts"]>[number]) => unknown): boolean =>
  turns.some((turn) => turn.parts?.some(has));

/**
 * The media of one Live session's history: the uploaded files its fileData parts name, read
 * once when their turn arrives (every reply replays the whole history), and each turn's media
 * parts checked on arrival, so a part the model cannot take closes the session then, named.
 */
export class SessionMedia {
  private readonly files = new Map<string, { mimeType: string; data: string }>();

  /** `load`: the bytes of the files that fileData parts name (absent: fileData is refused). */
  constructor(private readonly load?: (contents: Content[]) => Promise<LoadedFiles>) {}

  /** Reads the files `turns` name (a resumed history's too). */
  async loadFiles(turns: Content[]): Promise<void> {
    if (!this.load || !hasPart(turns, (part) => part.fileData)) return;
    for (const [uri, file] of await this.load(turns)) this.files.set(uri, file);
  }

  /** New turns: their files read, their media parts checked against `model` (throws a 400 naming the part). */
  async take(turns: Content[], model: ModelInfo): Promise<void> {
    if (!hasPart(turns, (part) => part.inlineData || part.fileData)) return;
    await this.loadFiles(turns);
    toPromptInput(turns, undefined, this.context(model));
  }

  /** What a reply's prompt needs to translate the history's media parts. */
  context(model: ModelInfo): MediaContext {
    return newMediaContext(this.files, model);
  }
}
