/**
 * A Chinook project with a `server` section, a server started on it (in-process or as a child
 * process), a small HTTP client for its API that keeps every response body (to look for secrets
 * in them), and a clock for the scheduler that the test moves by hand.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { loadProject, type Project } from '../../src/config/load-project.ts';
import type { SchedulerClock } from '../../src/scheduler/scheduler.ts';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/server/start-server.ts';
import { TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';

export const API_TOKEN = 'test-api-token-7c1e94b2d3';
export const ENV = { UI_API_KEY: TEST_API_KEY, PANELSYNC_API_TOKEN: API_TOKEN };
const BIN = fileURLToPath(new URL('../../bin/panelsync.js', import.meta.url));

/**
 * Adds `server: { api_token: "${PANELSYNC_API_TOKEN}" }` to the project file and writes `schedule`
 * on its sync (`null`: none). Call again after `chinook.writeSync`, which rewrites the file.
 */
export function writeServerProject(chinook: ChinookProject, schedule: Record<string, string> | null = null): void {
  const file = join(chinook.dir, 'panelsync.yml');
  const config = parse(readFileSync(file, 'utf8')) as Record<string, any>;
  config.server = { api_token: '${PANELSYNC_API_TOKEN}' };
  for (const sync of Object.values(config.syncs as Record<string, Record<string, unknown>>)) {
    if (schedule === null) delete sync.schedule;
    else sync.schedule = schedule;
  }
  writeFileSync(file, stringify(config));
}

/** The project as the server sees it. */
export function loadServerProject(chinook: ChinookProject): Promise<Project> {
  return loadProject({ projectDir: chinook.dir, env: ENV });
}

/** Starts the server in-process on a free loopback port. */
export async function startTestServer(chinook: ChinookProject, options: Omit<StartServerOptions, 'project'> = {}): Promise<RunningServer & { log: string[] }> {
  const log: string[] = [];
  const server = await startServer({ project: await loadServerProject(chinook), port: 0, log: (line) => log.push(line), ...options });
  return { ...server, log };
}

/** A response of the API. */
export interface ApiResponse {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** Calls the API of the server at `baseUrl`; every body read is appended to `seen`. */
export function apiClient(baseUrl: string, seen: string[] = []) {
  return async function call(
    path: string,
    options: { method?: string; body?: string; token?: string | null } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? API_TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method: options.method ?? 'GET', headers, body: options.body });
    const text = await response.text();
    seen.push(text);
    let body: unknown = null;
    if ((response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
    return { status: response.status, body, text, headers: response.headers };
  };
}

/** A clock the test moves by hand; timers fire when it passes their time. */
export class ManualClock implements SchedulerClock {
  private timers: Array<{ at: number; callback: () => void; live: boolean }> = [];
  constructor(private time: number) {}
  now(): number {
    return this.time;
  }
  setTimer(callback: () => void, ms: number): () => void {
    const timer = { at: this.time + ms, callback, live: true };
    this.timers.push(timer);
    return () => (timer.live = false);
  }
  /** Moves to `time`, firing due timers in order (a timer set while firing fires too if due). */
  advanceTo(time: number): void {
    this.time = time;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= time).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      due.callback();
    }
    this.timers = this.timers.filter((t) => t.live);
  }
}

/** Polls `probe` every 50 ms until it returns a value other than `undefined`/`false`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `node bin/panelsync.js serve --project DIR --port 0` as a child process, once it listens. */
export async function spawnServe(chinook: ChinookProject): Promise<{
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}> {
  const child = spawn(process.execPath, [BIN, 'serve', '--project', chinook.dir, '--port', '0'], {
    env: { ...process.env, ...ENV },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^listening on (http:\/\/\S+)$/m.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr, exited };
}
