/** The timeline: one bar per started tile, its work from start to end (to now while it runs), after a thin line for the time it waited for a slot or the worker; as SVG. */
import { html } from 'htm/preact';
import type { TileEntry } from '../src/api/contract.js';
import { layoutTimeline, timelineTicks } from './timeline.layout.js';
import { formatDuration, tileStateClass, tileStateLabel } from './tile.format.js';

const rowHeight = 16;
const labelWidth = 150;
const chartWidth = 700;
const axisHeight = 22;

export function TileTimeline({ tiles, live, onSelect }: { tiles: TileEntry[]; live: boolean; onSelect: (tile: TileEntry) => void }) {
  const layout = layoutTimeline(tiles, Date.now());
  const reusedNote = layout.reused ? ` ${layout.reused} ${layout.reused === 1 ? 'tile was' : 'tiles were'} reused from the previous attempt.` : '';
  if (!layout.bars.length) return html`<p>No tile has started yet${live ? '; the timeline fills in as tiles start.' : '.'}${reusedNote}</p>`;
  const height = axisHeight + layout.bars.length * rowHeight + 4;
  const byIndex = new Map(tiles.map((tile) => [tile.index, tile]));
  const longest = Math.max(...layout.bars.map((bar) => bar.durationMs));
  const waits = layout.bars.map((bar) => bar.waitMs).filter((wait): wait is number => wait !== null);
  const longestWait = waits.length ? Math.max(...waits) : null;
  return html`
    <figure class="timeline">
      <svg role="img" aria-labelledby="timeline-summary" viewBox=${`0 0 ${labelWidth + chartWidth + 10} ${height}`} width="100%" preserveAspectRatio="xMinYMin meet">
        ${timelineTicks(layout.spanMs).map((tick) => {
          const x = labelWidth + (tick / layout.spanMs) * chartWidth;
          return html`<g class="tick"><line x1=${x} x2=${x} y1=${axisHeight - 4} y2=${height} /><text x=${x} y=${axisHeight - 8} text-anchor="middle">${formatDuration(tick)}</text></g>`;
        })}
        ${layout.bars.map((bar, i) => {
          const y = axisHeight + i * rowHeight;
          const tile = byIndex.get(bar.index);
          const waited = bar.waitMs !== null ? `, after ${formatDuration(bar.waitMs)} queued` : '';
          const label = `${bar.itemId}: ${tileStateLabel(bar.state)}, worked ${formatDuration(bar.durationMs)}${bar.open ? ' so far' : ''}${waited}`;
          const queuedX = bar.queuedStart === null ? null : labelWidth + bar.queuedStart * chartWidth;
          const startX = labelWidth + bar.start * chartWidth;
          return html`<g class=${`bar state-${tileStateClass(bar.state)}`} onClick=${() => tile && onSelect(tile)}>
            <title>${label}</title>
            <text class="bar-label" x=${labelWidth - 6} y=${y + rowHeight - 4} text-anchor="end">r${tile?.row ?? '?'} c${tile?.col ?? '?'}</text>
            ${queuedX !== null && startX - queuedX >= 1 ? html`<line class="wait" x1=${queuedX} x2=${startX} y1=${y + rowHeight / 2} y2=${y + rowHeight / 2} />` : null}
            <rect x=${startX} y=${y + 2} width=${Math.max(bar.width * chartWidth, 2)} height=${rowHeight - 4} rx="2" />
          </g>`;
        })}
      </svg>
      <figcaption id="timeline-summary">
        ${layout.bars.length} ${layout.bars.length === 1 ? 'tile has' : 'tiles have'} started over ${formatDuration(layout.spanMs)}; the longest worked ${formatDuration(longest)}${longestWait !== null ? `, the longest wait for a slot or the worker was ${formatDuration(longestWait)}` : ''}.
        ${layout.waiting ? ` ${layout.waiting} not started yet${layout.queued ? ` (${layout.queued} queued)` : ''}.` : ''}${reusedNote} Bars are the work, coloured by state; the thin line before a bar is its time queued. Hover one for its tile, state and durations.
      </figcaption>
    </figure>
  `;
}
