/** One part of a multipart body: its Content-Type (if it gave one) and its bytes. */
export interface BodyPart {
  contentType?: string;
  body: Buffer;
}

/**
 * Splits a multipart/related (or form-data) body on its boundary. Bytes are kept as they are:
 * a part ends at the CRLF before the next delimiter line.
 */
export function parseMultipart(body: Buffer, boundary: string): BodyPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: BodyPart[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    let start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break; // the closing delimiter
    if (body.subarray(start, start + 2).toString() === "\r\n") start += 2;
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), start);
    if (next === -1) break;
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf("\r\n\r\n");
    const head = headerEnd === -1 ? "" : part.subarray(0, headerEnd).toString("latin1");
    const content = headerEnd === -1 ? part : part.subarray(headerEnd + 4);
    const contentType = /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim();
    parts.push(contentType ? { contentType, body: Buffer.from(content) } : { body: Buffer.from(content) });
    at = next + 2;
  }
  return parts;
}
