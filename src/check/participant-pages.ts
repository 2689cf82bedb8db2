/**
 * Reading `GET /participants` pages as the account answers them, for the check's paging items
 * and its read-backs: the query of either paging form, the rows of a page whatever its shape,
 * and whether the page says more are listed.
 */
import { pageQuery, ROUTES } from '../destinations/user-interviews/wire.ts';
import type { ContractProbe } from './contract-probe.ts';
import type { PagingForm } from './contract-observations.ts';

/** One listed participant: its id as sent (any JSON value) and its attributes (camelCase as assumed). */
export interface ListedRow {
  id: unknown;
  type: unknown;
  attributes: Record<string, unknown> | null;
}

/** The path of page `page` (1-based) of `size` rows in paging `form` (`other` pages as assumed). */
export function pagePath(form: PagingForm, size: number, page: number): string {
  const query = form === 'page_per_page' ? `per_page=${size}&page=${page}` : pageQuery(size, page);
  return `${ROUTES.listParticipants}?${query}`;
}

/** The rows of a page body (`data`), or `null` when it has no `data` array. */
export function pageRows(body: unknown): ListedRow[] | null {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data)) return null;
  return data.map((item) => {
    const record = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const attributes = record.attributes;
    return {
      id: record.id,
      type: record.type,
      attributes: typeof attributes === 'object' && attributes !== null ? (attributes as Record<string, unknown>) : null,
    };
  });
}

/**
 * Whether a page of `rows` rows says more participants are listed: `meta.pagination.hasMore`
 * (assumed), else a total (`meta.total_count`, `total`, `totalCount`, `pagination.total`) above
 * what pages up to this one held (`shownSoFar`).
 */
export function moreListed(body: unknown, shownSoFar: number): boolean {
  const meta = ((body as { meta?: unknown } | undefined)?.meta ?? {}) as Record<string, unknown>;
  const pagination = (meta.pagination ?? {}) as Record<string, unknown>;
  if (typeof pagination.hasMore === 'boolean') return pagination.hasMore;
  const total = [meta.total_count, meta.total, meta.totalCount, pagination.total, pagination.totalCount].find((v) => typeof v === 'number');
  return typeof total === 'number' && total > shownSoFar;
}

/**
 * Finds participant `id` by reading the pages of 200 (or the largest page size seen) in paging
 * `form`, until a page neither full nor saying more are listed, an empty page, or a page of ids already read (paging that
 * does not move). Returns its attributes, or `null` when it is not listed.
 */
export async function findListed(probe: ContractProbe, form: PagingForm, id: string, pageSize: number): Promise<Record<string, unknown> | null> {
  const seen = new Set<string>();
  for (let page = 1; ; page += 1) {
    const res = await probe.send('read_back', { method: 'GET', path: pagePath(form, pageSize, page) });
    const rows = pageRows(res.body);
    if (res.status !== 200 || rows === null || rows.length === 0) return null;
    let fresh = 0;
    for (const row of rows) {
      if (String(row.id) === id) return row.attributes ?? {};
      if (!seen.has(String(row.id))) fresh += 1;
      seen.add(String(row.id));
    }
    if (fresh === 0 || !(rows.length >= pageSize || moreListed(res.body, seen.size))) return null;
  }
}
