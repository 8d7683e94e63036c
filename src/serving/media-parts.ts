import type { InputKind, MediaModality, PromptInput } from "../engines/engine.js";

/**
 * What the server does with media parts, whichever surface they came in on: which MIME types it
 * takes and as what kind, how large they may be, and how many tokens a count gives them.
 */
const KINDS: Record<string, InputKind | "text"> = {
  "image/png": "image",
  "image/jpeg": "image",
  "image/webp": "image",
  "image/heic": "image",
  "image/heif": "image",
  "image/gif": "image",
  "audio/wav": "audio",
  "audio/x-wav": "audio",
  "audio/wave": "audio",
  "audio/mp3": "audio",
  "audio/mpeg": "audio",
  "audio/aac": "audio",
  "audio/ogg": "audio",
  "audio/flac": "audio",
  "audio/x-flac": "audio",
  "application/pdf": "pdf",
  "text/plain": "text",
};

export const SUPPORTED_MIME_TYPES = Object.keys(KINDS);

/** MIME parameters (`; charset=utf-8`) and case do not change the kind. */
export function mediaKind(mimeType: string): InputKind | "text" | undefined {
  return KINDS[mimeType.split(";")[0]!.trim().toLowerCase()];
}

/**
 * Largest media part, decoded, and all media of one request together; checked before any goes
 * upstream. Inline parts are held to --max-body (20 MiB, Google's inline limit) first; these bound
 * what uploaded files add (50 MiB: Google's largest PDF).
 */
export const MAX_MEDIA_PART_BYTES = 50 * 1024 * 1024;
export const MAX_MEDIA_REQUEST_BYTES = 100 * 1024 * 1024;

export const decodedBytes = (base64: string): number => Math.floor((base64.length * 3) / 4) - (base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0);

/**
 * Token counts for media, fixed so that a count is the same on every engine and every call:
 * Google's published rates (258 tokens an image, 32 a second of audio, 258 a PDF page). Audio
 * seconds come from a WAV header, else from the size at 128 kbit/s; PDF pages from the page
 * objects in the file.
 */
export const IMAGE_TOKENS = 258;
export const AUDIO_TOKENS_PER_SECOND = 32;
export const PDF_PAGE_TOKENS = 258;

export type Modality = "TEXT" | MediaModality;

function wavSeconds(bytes: Buffer): number | undefined {
  if (bytes.length < 44 || bytes.toString("ascii", 0, 4) !== "RIFF" || bytes.toString("ascii", 8, 12) !== "WAVE") return undefined;
  let at = 12;
  let byteRate = 0;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString("ascii", at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === "fmt " && at + 16 <= bytes.length) byteRate = bytes.readUInt32LE(at + 16);
    if (id === "data" && byteRate > 0) return Math.min(size, bytes.length - at - 8) / byteRate;
    at += 8 + size + (size % 2);
  }
  return undefined;
}

function pdfPages(bytes: Buffer): number {
  const matches = bytes.toString("latin1").match(/\/Type\s*\/Page(?![a-z])/g);
  return Math.max(1, matches?.length ?? 0);
}

export function mediaTokens(kind: InputKind, data: string): number {
  if (kind === "image") return IMAGE_TOKENS;
  const bytes = Buffer.from(data, "base64");
  if (kind === "pdf") return pdfPages(bytes) * PDF_PAGE_TOKENS;
  const seconds = wavSeconds(bytes) ?? bytes.length / 16_000;
  return Math.max(1, Math.ceil(seconds * AUDIO_TOKENS_PER_SECOND));
}

const MODALITY: Record<InputKind, MediaModality> = { image: "IMAGE", audio: "AUDIO", pdf: "DOCUMENT" };

/** The media tokens of a prompt per modality (TEXT not included: the engine counts text). */
export function mediaTokensByModality(prompt: PromptInput): Map<MediaModality, number> {
  const counts = new Map<MediaModality, number>();
  for (const turn of prompt.turns) {
    for (const part of turn.parts ?? []) {
      if (part.type !== "media") continue;
      const modality = MODALITY[part.kind];
      counts.set(modality, (counts.get(modality) ?? 0) + mediaTokens(part.kind, part.data));
    }
  }
  return counts;
}
