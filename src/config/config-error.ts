/** The error every project-file problem is reported with. */

/** One problem in the project file. */
export interface ConfigIssue {
  /**
   * Where: a dot path with `[i]` for array indexes (`syncs.customers-to-panel.mappings[3].to`);
   * a name that is not a plain word is quoted (`sources["my db"]`). For a YAML syntax error it is
   * `panelsync.yml:LINE:COLUMN` (1-based); for a problem with the whole file it is `''`.
   */
  path: string;
  /** What is wrong and how to fix it. Never contains a secret. */
  message: string;
}

export const CONFIG_ERROR_CODES = [
  /** The project file was found but has problems: see `issues`. */
  'CONFIG_INVALID',
  /** No project file in the directory (or it could not be read). */
  'CONFIG_NOT_FOUND',
] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** `path: message`, or the message alone for a problem with the whole file. */
export function formatConfigIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/**
 * The project file is missing or wrong. `issues` holds every problem found (not just the first);
 * the message is a summary line followed by one `path: message` line per issue.
 */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly issues: ConfigIssue[];
  constructor(
    code: ConfigErrorCode,
    issues: ConfigIssue[],
    options: { file?: string; cause?: unknown } = {},
  ) {
    super(configErrorMessage(code, issues, options.file), { cause: options.cause });
    this.name = 'ConfigError';
    this.code = code;
    this.issues = issues;
  }
}

function configErrorMessage(code: ConfigErrorCode, issues: ConfigIssue[], file: string | undefined): string {
  const lines = issues.map(formatConfigIssue);
  if (code === 'CONFIG_NOT_FOUND') return lines.join('\n');
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return [`${file ?? 'the project file'} is not valid (${count}); fix ${issues.length === 1 ? 'it' : 'them'} and run again:`, ...lines].join('\n');
}
