/**
 * The payload layouts of a state database (`payload_layouts`, see ./payload-codec.ts): each
 * layout stored once and named by an integer id in the snapshot's rows. Layouts are never
 * deleted, so an id, once read, names the same layout for good.
 */
import type Database from 'better-sqlite3';
import { encodeCanonical, encodeWithLayout, layoutKey, type PayloadLayout } from './payload-codec.ts';
import { prepared } from './prepared.ts';

export class PayloadLayouts {
  private readonly ids = new Map<string, number>();
  private readonly layouts = new Map<number, PayloadLayout>();
  /** The layout encoded last: the next payload is most likely of the same layout. */
  private last: { layout: PayloadLayout; id: number } | null = null;

  /**
   * @param options.oneTransaction the instance lives and dies within one transaction (a
   *   migration): ids stored in it are remembered, as nothing outlives a rollback
   */
  constructor(
    private readonly db: Database.Database,
    private readonly options: { oneTransaction?: boolean } = {},
  ) {}

  /** An id read now is kept only when no rollback can take it back. */
  private get remember(): boolean {
    return this.options.oneTransaction === true || !this.db.inTransaction;
  }

  /**
   * The id of `layout`, stored when new. Call outside a transaction that may roll back, or the id
   * is looked up again next time (an id is only kept once its row is committed).
   */
  idOf(layout: PayloadLayout): number {
    const key = layoutKey(layout);
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    prepared(this.db, 'INSERT INTO payload_layouts (parts) VALUES (?) ON CONFLICT (parts) DO NOTHING').run(key);
    const id = this.find(layout)!;
    if (this.remember) this.ids.set(key, id);
    return id;
  }

  /** The id of `layout` when it is stored, else `null` (no snapshot row has it). Writes nothing. */
  find(layout: PayloadLayout): number | null {
    const key = layoutKey(layout);
    return this.ids.get(key) ?? (prepared(this.db, 'SELECT id FROM payload_layouts WHERE parts = ?').pluck().get(key) as number | undefined) ?? null;
  }

  /**
   * The layout named `id`.
   * @throws Error when no layout has that id (a damaged state database)
   */
  layoutOf(id: number): PayloadLayout {
    let layout = this.layouts.get(id);
    if (layout === undefined) {
      const parts = prepared(this.db, 'SELECT parts FROM payload_layouts WHERE id = ?').pluck().get(id) as string | undefined;
      if (parts === undefined) throw new Error(`the state database names payload layout ${id}, which it does not hold: the file is damaged`);
      layout = JSON.parse(parts) as PayloadLayout;
      this.layouts.set(id, layout);
    }
    return layout;
  }

  /** A payload's canonical JSON as stored: its layout's id (stored when new) and its values. */
  encode(payload: string): { layoutId: number; values: string } {
    if (this.last !== null) {
      const values = encodeWithLayout(payload, this.last.layout);
      if (values !== null) return { layoutId: this.last.id, values };
    }
    const { layout, values } = encodeCanonical(payload);
    const id = this.idOf(layout);
    if (this.remember) this.last = { layout, id };
    return { layoutId: id, values };
  }
}
