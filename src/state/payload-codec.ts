/**
 * How a payload (a row's mapped fields as canonical JSON, see MappedFields in
 * ../engine/row-mapper.ts) is stored: its values alone, and the text around them once per
 * layout. Every row of a sync shares its key names, so the snapshot and the stage keep
 *
 * - a **layout**: the `parts` of canonical JSON around the values, e.g.
 *   `['{"characteristics":{"score":', ',"vip":', '},"city":', '}']` (n + 1 parts for n values),
 *   stored once in `payload_layouts` and named by its id;
 * - the row's **values**: each value's JSON text, joined by U+001F (unit separator), e.g.
 *   `1.5␟false␟"Oslo"`. `JSON.stringify` never writes a raw control character (it escapes every
 *   one below U+0020), so the separator cannot occur inside a value.
 *
 * `decodePayload(parts, values)` gives back the canonical JSON byte for byte, so the diff compares
 * (layout, values) exactly as it compared the payload text.
 */

/** The text of canonical JSON around a payload's values: n + 1 parts for n values. */
export type PayloadLayout = readonly string[];

/** A payload as stored: its layout and its values (see the module comment). */
export interface EncodedPayload {
  layout: PayloadLayout;
  values: string;
}

/** Separates values in an encoded payload: U+001F, never written raw by `JSON.stringify`. */
export const VALUE_SEPARATOR = '\u001f';

/** The key a layout is stored and looked up under (`payload_layouts.parts`). */
export function layoutKey(layout: PayloadLayout): string {
  return JSON.stringify(layout);
}

/** The canonical JSON of an encoded payload (the inverse of {@link encodeCanonical}). */
export function decodePayload(layout: PayloadLayout, values: string): string {
  if (layout.length === 1) return layout[0]!;
  const parts = values.split(VALUE_SEPARATOR);
  let text = layout[0]!;
  for (let i = 0; i < parts.length; i++) text += parts[i]! + layout[i + 1]!;
  return text;
}

/** The length in UTF-16 units of the canonical JSON of an encoded payload, without writing it. */
export function decodedLength(layout: PayloadLayout, values: string, layoutLength = layout.join('').length): number {
  if (layout.length === 1) return layoutLength;
  return layoutLength + values.length - (layout.length - 2); // n - 1 separators for n = layout.length - 1 values
}

/**
 * Splits a payload's canonical JSON into its layout and values: the top-level fields and the
 * fields of `characteristics` are values (as the row mapper writes them); any other nesting is
 * part of a value. Text that is not a JSON object is kept whole as a layout without values.
 */
export function encodeCanonical(json: string): EncodedPayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { layout: [json], values: '' };
  }
  if (!isObject(parsed)) return { layout: [json], values: '' };
  const layout: string[] = [];
  const values: string[] = [];
  let text = '{';
  Object.entries(parsed).forEach(([key, value], k) => {
    text += `${k === 0 ? '' : ','}${JSON.stringify(key)}:`;
    if (key === 'characteristics' && isObject(value) && Object.keys(value).length > 0) {
      text += '{';
      Object.entries(value).forEach(([slug, v], i) => {
        layout.push(`${text}${i === 0 ? '' : ','}${JSON.stringify(slug)}:`);
        values.push(JSON.stringify(v));
        text = '';
      });
      text = '}';
    } else {
      layout.push(text);
      values.push(JSON.stringify(value));
      text = '';
    }
  });
  layout.push(`${text}}`);
  const encoded = { layout, values: values.join(VALUE_SEPARATOR) };
  // Whatever was not written by JSON.stringify (spacing, escapes) stays as it was: kept whole.
  return decodePayload(encoded.layout, encoded.values) === json ? encoded : { layout: [json], values: '' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The values of `json` when it is a payload of `layout` (the canonical JSON `decodePayload(layout,
 * values)` gives back), else `null`: a scan of the JSON values between the layout's parts, with
 * no parse. The fast way to encode a payload of a layout already known.
 */
export function encodeWithLayout(json: string, layout: PayloadLayout): string | null {
  if (layout.length === 1) return json === layout[0] ? '' : null;
  if (!json.startsWith(layout[0]!) || json.includes(VALUE_SEPARATOR)) return null;
  let at = layout[0]!.length;
  let values = '';
  for (let i = 1; i < layout.length; i++) {
    const end = endOfJsonValue(json, at);
    if (end <= at) return null;
    values += (i === 1 ? '' : VALUE_SEPARATOR) + json.slice(at, end);
    if (!json.startsWith(layout[i]!, end)) return null;
    at = end + layout[i]!.length;
  }
  return at === json.length ? values : null;
}

/** Where the JSON value starting at `start` of `text` ends (the index after it); -1 when it does not. */
function endOfJsonValue(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: to its closing quote, over escapes.
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      if (i >= text.length) return -1;
      i++;
      if (depth === 0) return i;
      continue;
    }
    if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      if (depth === 0) return i; // the end of a scalar: the enclosing object closes
      if (--depth === 0) return i + 1;
    } else if (c === 0x2c && depth === 0) return i;
    i++;
  }
  return depth === 0 ? i : -1;
}
