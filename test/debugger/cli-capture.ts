/** Calling `panelsync` in-process (src/cli/main.ts) and capturing what it prints. */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `panelsync ARGS --project DIR` in this process with `env` set (the project file reads
 * `${UI_API_KEY}`), capturing stdout and stderr.
 */
export async function panelsync(dir: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  try {
    const code = await main(['node', 'panelsync', ...args, '--project', dir]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    vi.unstubAllEnvs();
  }
}

/** Parses stdout as exactly one JSON value on one line (what `--json` promises). */
export function onlyJson<T>(result: CliResult): T {
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  if (lines.length !== 1) throw new Error(`expected one line of JSON on stdout, got ${lines.length}:\n${result.stdout}`);
  return JSON.parse(lines[0]!) as T;
}
