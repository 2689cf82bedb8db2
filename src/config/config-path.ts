/** How a location in the project file is written in messages. */

/** One step into the parsed project file: an object key or an array index. */
export type ConfigPathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/**
 * `['syncs', 'customers-to-panel', 'mappings', 3, 'to']` -> `syncs.customers-to-panel.mappings[3].to`.
 * Keys that are not plain words (dots, spaces, empty) are quoted: `sources["my.db"]`.
 */
export function formatConfigPath(segments: readonly ConfigPathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
