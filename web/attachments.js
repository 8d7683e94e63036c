// Files attached to the next prompt: which kinds the picked model takes (its inputModalities on
// models.get / models.list), and the inlineData parts they become.

/** The media the server takes, by the modality a model must list to read them. */
const MEDIA = {
  IMAGE: { label: "images", types: ["image/png", "image/jpeg", "image/webp", "image/heic", "image/heif", "image/gif"] },
  AUDIO: { label: "audio", types: ["audio/wav", "audio/x-wav", "audio/wave", "audio/mp3", "audio/mpeg", "audio/aac", "audio/ogg", "audio/flac", "audio/x-flac"] },
  DOCUMENT: { label: "PDFs", types: ["application/pdf"] },
};

/** The modality of a MIME type, or undefined for one the server does not take as media. */
export function modalityOf(mimeType) {
  const type = String(mimeType).split(";")[0].trim().toLowerCase();
  return Object.keys(MEDIA).find((modality) => MEDIA[modality].types.includes(type));
}

/** The media modalities a model takes besides text (none when it does not say). */
export const mediaModalities = (model) => (model?.inputModalities ?? []).filter((m) => MEDIA[m]);

const list = (words) => (words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`);

/** "Takes text, images and audio." */
export function describeInputs(model) {
  const media = mediaModalities(model).map((m) => MEDIA[m].label);
  return media.length ? `Takes text, ${list(media)}.` : "Takes text only.";
}

/** The file picker's accept list for a model, "" when it takes no media. */
export const acceptFor = (model) => mediaModalities(model).flatMap((m) => MEDIA[m].types).join(",");

/** Why `file` cannot go to `model`, or "" when it can. */
export function refusal(file, model) {
  const modality = modalityOf(file.type);
  if (!modality) return `${file.name} is ${file.type || "of an unknown type"}: attach images, audio or PDFs.`;
  if (!mediaModalities(model).includes(modality)) return `${model?.id ?? "This model"} cannot read ${MEDIA[modality].label}. ${describeInputs(model)}`;
  return "";
}

/** A File as a Gemini inlineData part (base64 of its bytes, without the data: URL's prefix). */
export function toInlinePart(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ inlineData: { mimeType: file.type, data: String(reader.result).replace(/^data:[^,]*,/, "") } });
    reader.onerror = () => reject(reader.error ?? new Error(`Could not read ${file.name}.`));
    reader.readAsDataURL(file);
  });
}

const sizeText = (bytes) => (bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

/** How an attachment is named on the page: "photo.png (image/png, 12.0 KiB)". */
export const attachmentLabel = (file) => `${file.name} (${file.type || "unknown type"}, ${sizeText(file.size)})`;

/** The attached files as chips in `list`, each with a remove button; one `model` cannot read is marked, with the reason. */
export function renderAttachments(list, files, model, onRemove) {
  list.replaceChildren(
    ...files.map((file, index) => {
      const item = document.createElement("li");
      const why = refusal(file, model);
      item.classList.toggle("refused", why !== "");
      item.title = why;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove ${file.name}`);
      remove.addEventListener("click", () => onRemove(index));
      item.append(attachmentLabel(file), remove);
      return item;
    }),
  );
  list.hidden = files.length === 0;
}
