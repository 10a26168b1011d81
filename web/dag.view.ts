/**
 * The workflow graph drawn as SVG (issue 24.6): one focusable node per step with a heading, its
 * details in words and a badge counting the current jobs that stand there; edges as curves with
 * their labels. Every string is set as text (Preact escapes it), the full description is each
 * node's `<title>` and accessible name, and the drawing scrolls inside its own box, so a wide
 * graph never makes the page scroll sideways on a phone.
 */
import { html } from 'htm/preact';
import { badgeText, type JobPlace } from './dag.graph.js';
import { dagMetrics, type DagLayout, type PlacedNode } from './dag.layout.js';

/** Words for each kind of node, read by screen readers before its heading. */
const kindWords: Record<string, string> = {
  source: 'source rule',
  'more-sources': 'source rules',
  upstream: 'upstream collection',
  derive: 'derived step',
  validate: 'step',
  gates: 'step',
  route: 'step',
  tiles: 'step',
  stac: 'step',
  events: 'events',
  derived: 'derived collection',
  'more-derived': 'derived collections',
  schedule: 'schedule',
  'after-collection': 'waited-on collection',
  'after-batch': 'waited-on batch',
  'after-more': 'waited-on',
};

function DagNodeBox({ placed, places, selected, onSelect }: { placed: PlacedNode; places: readonly JobPlace[]; selected: boolean; onSelect: (id: string) => void }) {
  const { node, x, y, width, height } = placed;
  const badge = badgeText(places);
  // The badge's group is always there (hidden when empty): the node's structure stays the same as jobs come and go.
  const label = `${kindWords[node.kind] ?? 'step'}: ${node.description}${badge ? `. Jobs here: ${badge}` : '. No current job here'}`;
  const onKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onSelect(node.id);
    }
  };
  const textX = x + dagMetrics.padding;
  const headingY = y + dagMetrics.padding + 15;
  return html`
    <g
      class=${`dag-node dag-kind-${node.kind}${selected ? ' dag-selected' : ''}${badge ? ' dag-has-jobs' : ''}`}
      data-node=${node.id}
      tabindex="0"
      role="button"
      aria-pressed=${selected ? 'true' : 'false'}
      aria-label=${label}
      onClick=${() => onSelect(node.id)}
      onKeyDown=${onKeyDown}
    >
      <title>${label}</title>
      <rect class="dag-box" x=${x} y=${y} width=${width} height=${height} rx="6" />
      <text class="dag-heading" x=${textX} y=${headingY}>${node.title}</text>
      ${node.lines.map((text, row) => html`<text class="dag-line" x=${textX} y=${headingY + dagMetrics.headerHeight - 2 + row * dagMetrics.lineHeight}>${text}</text>`)}
      <g class="dag-badge" visibility=${badge ? 'visible' : 'hidden'}>
        <rect x=${x + 4} y=${y + height - dagMetrics.badgeHeight - 2} width=${width - 8} height=${dagMetrics.badgeHeight - 2} rx="9" />
        <text x=${textX} y=${y + height - 9}>${badge ? `● ${truncateBadge(badge)}` : ''}</text>
      </g>
    </g>
  `;
}

/** The badge line fits the node; its whole text is in the node's name and the panel. */
function truncateBadge(text: string): string {
  const max = 32;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function WorkflowGraph({ layout, places, selected, onSelect, name }: { layout: DagLayout; places: readonly JobPlace[]; selected: string | null; onSelect: (id: string) => void; name: string }) {
  const placesAt = (id: string): JobPlace[] => places.filter((place) => place.nodeId === id);
  return html`
    <div class="dag-scroll" tabindex="-1">
      <svg class="dag" role="group" aria-label=${name} width=${layout.width} height=${layout.height} viewBox=${`0 0 ${layout.width} ${layout.height}`} xmlns="http://www.w3.org/2000/svg">
        <title>${name}</title>
        <defs>
          <marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="dag-arrow-head" />
          </marker>
        </defs>
        <g class="dag-edges" aria-hidden="true">
          ${layout.edges.map(
            (edge) => html`
              <g class=${`dag-edge dag-edge-${edge.kind}${edge.back ? ' dag-edge-back' : ''}`} data-from=${edge.from} data-to=${edge.to}>
                <path d=${edge.path} marker-end="url(#dag-arrow)" />
                ${edge.label ? html`<text x=${edge.labelX} y=${edge.labelY} text-anchor="middle">${edge.label}</text>` : null}
              </g>
            `,
          )}
        </g>
        ${layout.nodes.map((placed) => html`<${DagNodeBox} key=${placed.node.id} placed=${placed} places=${placesAt(placed.node.id)} selected=${selected === placed.node.id} onSelect=${onSelect} />`)}
      </svg>
    </div>
  `;
}
