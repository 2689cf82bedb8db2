/**
 * A small bar chart of a sync's recent runs, as inline SVG: one bar per run, oldest left, newest
 * right; each bar stacks the rows that succeeded (bottom) and the rows rejected or invalid (top),
 * on a scale shared by the bars. A run without counts (running, or failed before counting) is a
 * short mark in its status colour. The chart has a text equivalent for screen readers and a
 * tooltip per bar.
 */
import { h, svg } from './dom.js';
import { absoluteTime, count, runCounts } from './format.js';

const WIDTH = 160;
const HEIGHT = 36;
const GAP = 2;

/**
 * @param {Array<object>} runs RunListItem (src/state/run-history.ts), newest first as the API lists them
 * @returns {Element} the chart, or a "no runs yet" note
 */
export function runsChart(runs) {
  if (runs.length === 0) return h('span', { class: 'muted' }, 'No runs yet');
  const ordered = [...runs].reverse();
  const bars = ordered.map((run) => ({ run, counts: runCounts(run) }));
  const max = Math.max(1, ...bars.map(({ counts }) => (counts ? counts.succeeded + counts.rejected + counts.invalid : 0)));
  const slots = Math.max(bars.length, 10);
  const barWidth = (WIDTH - GAP * (slots - 1)) / slots;

  const shapes = bars.map(({ run, counts }, i) => {
    const x = WIDTH - (bars.length - i) * (barWidth + GAP) + GAP;
    const title = svg('title', null, barLabel(run, counts));
    if (!counts || counts.succeeded + counts.rejected + counts.invalid === 0) {
      return svg('rect', { x, y: HEIGHT - 3, width: barWidth, height: 3, class: `bar-empty status-fill-${run.status}` }, title);
    }
    const failed = counts.rejected + counts.invalid;
    const okHeight = (counts.succeeded / max) * (HEIGHT - 1);
    const failedHeight = Math.max(failed > 0 ? 2 : 0, (failed / max) * (HEIGHT - 1));
    return svg(
      'g',
      { class: 'bar' },
      title,
      svg('rect', { x, y: HEIGHT - okHeight, width: barWidth, height: okHeight, class: 'bar-succeeded' }),
      failed > 0
        ? svg('rect', { x, y: HEIGHT - okHeight - failedHeight, width: barWidth, height: failedHeight, class: 'bar-failed' })
        : null,
    );
  });

  const summary = ordered
    .map((run) => {
      const c = runCounts(run);
      return c ? `${c.succeeded} succeeded, ${c.rejected + c.invalid} rejected or invalid` : run.status;
    })
    .join('; ');
  return h(
    'figure',
    { class: 'runs-chart' },
    svg(
      'svg',
      {
        viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
        width: WIDTH,
        height: HEIGHT,
        role: 'img',
        'aria-label': `Rows of the last ${runs.length} run${runs.length === 1 ? '' : 's'}, oldest first: ${summary}`,
      },
      svg('line', { x1: 0, y1: HEIGHT - 0.5, x2: WIDTH, y2: HEIGHT - 0.5, class: 'chart-axis' }),
      shapes,
    ),
    h(
      'figcaption',
      { class: 'chart-legend' },
      h('span', { class: 'legend-succeeded' }, 'succeeded'),
      ' ',
      h('span', { class: 'legend-failed' }, 'rejected/invalid'),
    ),
  );
}

function barLabel(run, counts) {
  const when = absoluteTime(run.started_at);
  if (!counts) return `${when}: ${run.status}`;
  return `${when}: ${run.status}, ${count(counts.succeeded)} succeeded, ${count(counts.rejected)} rejected, ${count(counts.invalid)} invalid`;
}
