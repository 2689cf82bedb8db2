/**
 * How the state store keeps a request or response body of bounded size. The store cuts every body
 * past `MAX_STORED_BODY_BYTES` (./state-store.ts): **64 KiB = 65,536 bytes of UTF-8**, and records
 * the full size beside it. A full batch of 100 participants is typically 10-30 KiB, so in
 * practice only unusual bodies (very wide rows, huge error pages) are cut.
 */

/** The marker that ends a cut body; `N` is the number of bytes cut. */
const MARKER = /…\[truncated: (\d+) bytes not stored\]$/;

/**
 * Cuts `text` to at most `maxBytes` bytes of UTF-8 (never inside a character) and appends the
 * marker `…[truncated: N bytes not stored]` saying how many bytes were cut; `text` is returned
 * whole when it fits. The stored text may thus exceed `maxBytes` by the marker (at most 50 bytes).
 * @param maxBytes the most bytes of `text` kept (the store passes 64 KiB)
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

/**
 * Whether `stored` (as {@link truncateBody} returned it) was cut, given the full size it recorded:
 * it ends in the marker and the kept bytes plus the marker's count make up `bytes`. So a whole
 * body that happens to end in marker-like text is not taken for a cut one (unless its count
 * equals the marker's own length).
 */
export function wasTruncated(stored: string, bytes: number | null): boolean {
  const match = MARKER.exec(stored);
  if (match === null || bytes === null) return false;
  const kept = Buffer.byteLength(stored, 'utf8') - Buffer.byteLength(match[0], 'utf8');
  return kept + Number(match[1]) === bytes;
}
