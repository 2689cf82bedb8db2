/** How the state store keeps a request or response body of bounded size. */

/**
 * Cuts `text` to at most `maxBytes` bytes of UTF-8 (never inside a character) and appends the
 * marker `…[truncated: N bytes not stored]` saying how many bytes were cut.
 * @returns the text to store and the full size of `text`, bytes (UTF-8)
 */
export function truncateBody(text: string, maxBytes: number): { text: string; bytes: number } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return { text, bytes };
  const buffer = Buffer.from(text, 'utf8');
  let cut = maxBytes;
  // Back off to the first byte of a character: UTF-8 continuation bytes are 0b10xxxxxx.
  while (cut > 0 && (buffer[cut]! & 0xc0) === 0x80) cut -= 1;
  return { text: `${buffer.subarray(0, cut).toString('utf8')}…[truncated: ${bytes - cut} bytes not stored]`, bytes };
}
