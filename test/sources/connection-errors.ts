/** Shared assertions for the server sources (PostgreSQL, MySQL): how they report connection failures. */
import { expect } from 'vitest';
import { SourceError, type Source } from '../../src/sources/source.ts';
import { collectRows } from './collect-rows.ts';

/**
 * A server that refuses the connection gives SOURCE_CONNECT_FAILED whose message shows the URL
 * with `***` for the password, never the password itself.
 * @param scheme `postgres` or `mysql`
 */
export async function expectUnreachableWithoutPassword(scheme: string, open: (url: string) => Source): Promise<void> {
  const unreachable = open(`${scheme}://panel:hunter2secret@127.0.0.1:1/warehouse`);
  try {
    const error = await collectRows(unreachable, 'SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'SOURCE_CONNECT_FAILED' });
    const message = (error as Error).message;
    expect(message).toContain(`${scheme}://panel:***@127.0.0.1:1/warehouse`);
    expect(message).toMatch(/ECONNREFUSED/);
    expect(message).not.toContain('hunter2secret');
  } finally {
    await unreachable.close();
  }
}

/** A database name that does not exist on a reachable server gives SOURCE_CONNECT_FAILED naming it. */
export async function expectMissingDatabase(databaseUrl: string, open: (url: string) => Source): Promise<void> {
  const url = new URL(databaseUrl);
  url.pathname = '/panelsync_no_such_database';
  const wrong = open(url.toString());
  try {
    await expect(collectRows(wrong, 'SELECT 1')).rejects.toMatchObject({
      code: 'SOURCE_CONNECT_FAILED',
      message: expect.stringContaining('panelsync_no_such_database'),
    });
  } finally {
    await wrong.close();
  }
}
