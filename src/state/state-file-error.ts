/**
 * The state database's file cannot be used: read-only, damaged, or not a database. The message
 * names the file and says what to do; nothing is half-done (the file is refused before any
 * write, and a read-only file gets no read-only `-wal`/`-shm` companions that would keep failing
 * once the file itself is fixed).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';

export const STATE_FILE_ERROR_CODES = ['STATE_FILE_READ_ONLY', 'STATE_FILE_DAMAGED'] as const;
export type StateFileErrorCode = (typeof STATE_FILE_ERROR_CODES)[number];

/** The state database file at `path` cannot be used; `code` says why, the message what to do. */
export class StateFileError extends Error {
  readonly code: StateFileErrorCode;
  readonly path: string;
  constructor(code: StateFileErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateFileError';
    this.code = code;
    this.path = path;
  }
}

/**
 * Throws {@link StateFileError} `STATE_FILE_READ_ONLY` when this process may not write the state
 * database at `path`, its `-wal` or `-shm` companion (each checked when it exists), or, for a file
 * not created yet, its folder. Checked before SQLite opens the file: SQLite would create the
 * companions read-only like the file, and they would keep failing after the file is fixed.
 * A process that may write anything (root) always passes.
 */
export function assertStateFileWritable(path: string): void {
  const notWritable = (file: string): boolean => {
    try {
      accessSync(file, constants.W_OK);
      return false;
    } catch {
      return true;
    }
  };
  if (!existsSync(path)) {
    if (notWritable(dirname(path))) {
      throw new StateFileError(
        'STATE_FILE_READ_ONLY',
        path,
        `cannot create the state database ${path}: its folder ${dirname(path)} is not writable by this user. Make it writable, or point the project's \`state\` key at a writable path`,
      );
    }
    return;
  }
  const readOnly = [path, `${path}-wal`, `${path}-shm`].filter((file) => existsSync(file) && notWritable(file));
  if (readOnly.length === 0) return;
  const fix =
    readOnly[0] === path
      ? `make it writable by the user running panelsync (e.g. chmod u+w ${readOnly.join(' ')}, or chown it to that user)`
      : `make them writable (chmod u+w ${readOnly.join(' ')}), or delete them while no panelsync process uses the state database`;
  throw new StateFileError('STATE_FILE_READ_ONLY', path, `the state database ${readOnly.join(', ')} ${readOnly.length > 1 ? 'are' : 'is'} read-only: ${fix}. Nothing was changed`);
}

/**
 * The SQLite error `error` (from opening or migrating the state database at `path`) as a
 * {@link StateFileError} naming the file and the fix; `null` for any other error.
 */
export function stateFileErrorOf(error: unknown, path: string): StateFileError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  const detail = error instanceof Error ? error.message : String(error);
  if (code.startsWith('SQLITE_READONLY')) {
    return new StateFileError(
      'STATE_FILE_READ_ONLY',
      path,
      `the state database ${path} cannot be written (${detail}): make it, its folder and any ${path}-wal and ${path}-shm writable by the user running panelsync`,
      { cause: error },
    );
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new StateFileError(
      'STATE_FILE_DAMAGED',
      path,
      `the state database ${path} is damaged or is not a panelsync state database (${detail}). Restore it from a backup; ` +
        `or recover what SQLite can (sqlite3 ${path} ".recover" | sqlite3 recovered.db, then point \`state\` at recovered.db); ` +
        `or move it aside: the next run starts a new state database and sends every row again, matched to participants by email`,
      { cause: error },
    );
  }
  return null;
}
