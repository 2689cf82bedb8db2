/**
 * How the state store keeps API call bodies small: every stored body (already redacted, and cut
 * at `MAX_STORED_BODY_BYTES` by ./truncate-body.ts) is compressed with Brotli (node:zlib) at
 * quality 4 and stored as a BLOB. JSON bodies of participant batches shrink about 20x at about
 * 75 MiB/s on one core (measured on `npm run bench` bodies). Bodies recorded before migration 11
 * are TEXT and are read as they are (old rows are not rewritten; retention removes them).
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

/** Brotli quality 0-11: 4 compresses bench bodies ~19.5x at ~0.3 ms each; 6+ gains under 10% at half the speed. */
const BROTLI_QUALITY = 4;

/**
 * Compresses a body for storage.
 * @param text the body as it is to be shown (UTF-8 text)
 * @returns Brotli-compressed UTF-8 bytes
 */
export function compressBody(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
}

/**
 * The body text of a stored column value: a BLOB ({@link compressBody}) is decompressed, TEXT
 * (recorded before bodies were compressed) is returned as it is, NULL stays `null`.
 * @throws Error from node:zlib when a BLOB is not Brotli data (a damaged state database)
 */
export function readBody(stored: string | Buffer | null): string | null {
  if (stored === null || typeof stored === 'string') return stored;
  return brotliDecompressSync(stored).toString('utf8');
}
