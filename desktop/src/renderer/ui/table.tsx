// A virtualized table: only the rows in view (plus a margin) are in the DOM, so 10,000 devices scroll
// like 10. Rows have one fixed height. Keyboard: the table (its grid, named by `label`) takes focus; ↑/↓/PageUp/
// PageDown/Home/End move the selection, Enter opens the row. The selected row is the grid's active descendant, so a
// screen reader says the row the keys moved to; the rows' scroller is no Tab stop of its own (Chromium makes a
// scroller without focusable children one, unnamed).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';

export interface Column<T> {
  title: string;
  width: string;
  cell(row: T): ComponentChildren;
}

export const ROW_PX = 32;
const OVERSCAN = 8;

export function VirtualTable<T>(p: { rows: readonly T[]; columns: Column<T>[]; rowKey(row: T): string; onOpen(row: T): void; label: string; heightPx?: number }) {
  const [top, setTop] = useState(0);
  const [sel, setSel] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const height = p.heightPx ?? 480;
  const visible = Math.ceil(height / ROW_PX);
  const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN);
  const last = Math.min(p.rows.length, first + visible + 2 * OVERSCAN);
  const template = p.columns.map((c) => c.width).join(' ');
  const rowId = `vt-${p.label.replace(/\W/g, '')}-`;
  // The columns' least widths (their rem, gaps of 10 px, padding 20 px): a narrower window scrolls the table
  // sideways (.vtable) instead of cutting its last columns off.
  const minWidth = `calc(${p.columns.reduce((s, c) => s + Number(/([\d.]+)rem/.exec(c.width)?.[1] ?? 0), 0)}rem + ${10 * p.columns.length + 10}px)`;
  useEffect(() => { if (sel >= p.rows.length) setSel(Math.max(0, p.rows.length - 1)); }, [p.rows.length]);

  const move = (to: number) => {
    const n = Math.max(0, Math.min(p.rows.length - 1, to));
    setSel(n);
    const el = box.current;
    if (!el) return;
    if (n * ROW_PX < el.scrollTop) el.scrollTop = n * ROW_PX;
    else if ((n + 1) * ROW_PX > el.scrollTop + height) el.scrollTop = (n + 1) * ROW_PX - height;
  };
  const onKey = (e: KeyboardEvent) => {
    const keys: Record<string, () => void> = {
      ArrowDown: () => move(sel + 1), ArrowUp: () => move(sel - 1),
      PageDown: () => move(sel + visible), PageUp: () => move(sel - visible),
      Home: () => move(0), End: () => move(p.rows.length - 1),
      Enter: () => { const r = p.rows[sel]; if (r) p.onOpen(r); },
    };
    const k = keys[e.key];
    if (k) { e.preventDefault(); k(); }
  };
  return (
    <div class="vtable" role="grid" aria-label={p.label} aria-rowcount={p.rows.length + 1} tabIndex={0} onKeyDown={onKey}
      aria-activedescendant={sel >= first && sel < last ? `${rowId}${sel}` : undefined}>
      <div class="vrow vhead" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template, minWidth }}>
        {p.columns.map((c) => <div role="columnheader" key={c.title}>{c.title}</div>)}
      </div>
      <div class="vbody" ref={box} tabIndex={-1} style={{ height: `${height}px`, minWidth }}
        onScroll={(e) => setTop((e.currentTarget as HTMLDivElement).scrollTop)}>
        <div style={{ height: `${p.rows.length * ROW_PX}px`, position: 'relative' }}>
          {p.rows.slice(first, last).map((r, i) => {
            const idx = first + i;
            return (
              <div key={p.rowKey(r)} id={`${rowId}${idx}`} role="row" aria-rowindex={idx + 2} aria-selected={idx === sel}
                class={`vrow${idx === sel ? ' selected' : ''}`} data-key={p.rowKey(r)}
                style={{ gridTemplateColumns: template, top: `${idx * ROW_PX}px` }}
                onClick={() => { setSel(idx); p.onOpen(r); }}>
                {p.columns.map((c) => <div role="gridcell" key={c.title}>{c.cell(r)}</div>)}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

/** A plain table's header row, one `<th>` a title ('' for an empty one): written once for every table of the views,
 *  which kept the bundle 3 KiB smaller than each spelling its cells out (docs/console.md "Building"). */
export const Head = (p: { cols: readonly string[] }) => <thead><tr>{p.cols.map((c) => <th>{c}</th>)}</tr></thead>;
