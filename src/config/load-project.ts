/**
 * Finds, reads and validates the project file (`panelsync.yml`) of a project directory.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import type { Env } from './interpolate-env.ts';
import { interpolateEnv } from './interpolate-env.ts';
import type { ProjectUse } from './project-use.ts';
import { projectSchema } from './schema.ts';
import { projectSecrets, validateProject, type Project } from './validate-project.ts';

export type { Project } from './validate-project.ts';

/** The project file's names, in the order they are looked for. */
export const PROJECT_FILE_NAMES = ['panelsync.yml', 'panelsync.yaml'] as const;

/** YAML syntax errors listed before the rest are summed up in one line. */
const MAX_YAML_ERRORS = 3;

export interface LoadProjectOptions {
  /** The directory holding the project file; default `process.cwd()`. */
  projectDir?: string;
  /** Where `${VAR}` values come from; default `process.env`. */
  env?: Env;
  /**
   * What the command uses (`run`, `plan`: one sync; see ./project-use.ts): unset variables of
   * what it does not use (`server`, alert channels) are no error. Default: everything.
   */
  use?: ProjectUse;
}

/**
 * Loads `panelsync.yml` (or `panelsync.yaml`) from `projectDir`: YAML -> `${VAR}` interpolation
 * -> schema with defaults -> normalization -> cross-field rules (see {@link validateProject}).
 *
 * Throws {@link ConfigError}:
 * - `CONFIG_NOT_FOUND` when the directory has no project file, has both names, or it cannot be read
 *   (the message names the directory);
 * - `CONFIG_INVALID` with every problem in `issues`: YAML syntax errors (path
 *   `panelsync.yml:LINE:COLUMN`), unset variables, schema and cross-field problems.
 */
export async function loadProject(options: LoadProjectOptions = {}): Promise<Project> {
  const projectDir = path.resolve(options.projectDir ?? process.cwd());
  const { projectFile, raw } = await readProjectFile(projectDir);
  const { project, issues } = validateProject(raw, options.env ?? process.env, {
    projectDir,
    projectFile,
    ...(options.use === undefined ? {} : { use: options.use }),
  });
  if (project === undefined) throw new ConfigError('CONFIG_INVALID', issues, { file: projectFile });
  return project;
}

/** Where a project keeps its state, for the commands that only read it (`runs`, `debug`, `rows`). */
export interface StateLocation {
  projectDir: string;
  /** The state database (absolute path). */
  statePath: string;
  /** The names of the project's syncs, in file order. */
  syncs: string[];
  /** Every secret the file names whose variable is set (see {@link Project.secrets}), for redaction. */
  secrets: string[];
  /** `retention_days` (default 30): days a run's calls and row outcomes are kept. */
  retentionDays: number;
}

/**
 * Reads only what locates the state database: unlike {@link loadProject}, an unset `${VAR}` is
 * no error (reading run history needs no API key or token), and the rest of the file is not
 * validated.
 * @throws ConfigError `CONFIG_NOT_FOUND` as loadProject; `CONFIG_INVALID` for YAML syntax errors
 *   or a bad `state` key
 */
export async function loadStateLocation(options: LoadProjectOptions = {}): Promise<StateLocation> {
  const projectDir = path.resolve(options.projectDir ?? process.cwd());
  const { projectFile, raw } = await readProjectFile(projectDir);
  const interpolated = interpolateEnv(raw, options.env ?? process.env, { allowUnset: true, baseDir: projectDir });
  const value = (interpolated.value ?? {}) as Record<string, unknown>;
  const state = projectSchema.shape.state.safeParse(value.state);
  if (!state.success) {
    throw new ConfigError('CONFIG_INVALID', [{ path: 'state', message: 'must be a path to the state database (a non-empty string), relative to the project file' }], {
      file: projectFile,
    });
  }
  const retention = projectSchema.shape.retention_days.safeParse(value.retention_days);
  if (!retention.success) {
    throw new ConfigError('CONFIG_INVALID', [{ path: 'retention_days', message: 'must be a whole number of days from 1 up' }], { file: projectFile });
  }
  const syncs = value.syncs !== null && typeof value.syncs === 'object' ? Object.keys(value.syncs) : [];
  return {
    projectDir,
    statePath: path.resolve(projectDir, state.data),
    syncs,
    // An unset variable stays written as `${NAME}`: that text is no secret.
    secrets: projectSecrets(interpolated.value, interpolated.secrets).filter((secret) => !secret.includes('${')),
    retentionDays: retention.data,
  };
}

async function readProjectFile(projectDir: string): Promise<{ projectFile: string; raw: unknown }> {
  const projectFile = await findProjectFile(projectDir);
  const fileName = path.basename(projectFile);

  let text: string;
  try {
    text = await readFile(projectFile, 'utf8');
  } catch (error) {
    throw new ConfigError('CONFIG_NOT_FOUND', [
      { path: '', message: `cannot read ${projectFile}: ${(error as Error).message}; check its permissions` },
    ], { cause: error });
  }

  const lineCounter = new LineCounter();
  // `merge: true` lets `<<: *defaults` share keys between syncs, as most YAML users expect.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  if (document.errors.length > 0) {
    // One syntax error often makes the parser trip over every line after it: the first few say it all.
    const issues: ConfigIssue[] = document.errors.slice(0, MAX_YAML_ERRORS).map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { path: `${fileName}:${line}:${col}`, message: `YAML syntax error: ${error.message}` };
    });
    const more = document.errors.length - MAX_YAML_ERRORS;
    if (more > 0) {
      issues.push({ path: fileName, message: `${more} more YAML syntax error${more === 1 ? '' : 's'} after these, most likely caused by the first; fix it and run again` });
    }
    throw new ConfigError('CONFIG_INVALID', issues, { file: projectFile });
  }
  let raw: unknown;
  try {
    raw = document.toJS();
  } catch (error) {
    // e.g. "Excessive alias count": a YAML bomb or a runaway anchor
    throw new ConfigError('CONFIG_INVALID', [{ path: fileName, message: `cannot read the YAML: ${(error as Error).message}` }], {
      file: projectFile,
      cause: error,
    });
  }
  return { projectFile, raw };
}

async function findProjectFile(projectDir: string): Promise<string> {
  const dirStat = await stat(projectDir).catch(() => undefined);
  if (dirStat === undefined || !dirStat.isDirectory()) {
    throw new ConfigError('CONFIG_NOT_FOUND', [
      {
        path: '',
        message: `the project directory ${projectDir} does not exist${dirStat === undefined ? '' : ' (it is a file)'}; point --project at the directory that holds ${PROJECT_FILE_NAMES[0]}`,
      },
    ]);
  }
  const found: string[] = [];
  for (const name of PROJECT_FILE_NAMES) {
    const candidate = path.join(projectDir, name);
    if ((await stat(candidate).catch(() => undefined))?.isFile()) found.push(candidate);
  }
  if (found.length > 1) {
    throw new ConfigError('CONFIG_NOT_FOUND', [
      { path: '', message: `${projectDir} has both ${PROJECT_FILE_NAMES.join(' and ')}; keep one of them` },
    ]);
  }
  if (found[0] === undefined) {
    throw new ConfigError('CONFIG_NOT_FOUND', [
      {
        path: '',
        message: `no ${PROJECT_FILE_NAMES[0]} (or ${PROJECT_FILE_NAMES[1]}) in ${projectDir}; create one there, or point --project at the directory that holds it`,
      },
    ]);
  }
  return found[0];
}
