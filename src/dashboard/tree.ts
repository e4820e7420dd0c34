/**
 * A job's sub-job tree on its card, as `GET /api/jobs/:jobId/children` answers it: every sub-job
 * and batch chunk, nested under the job that ran it, each a link to its own card. This is how an
 * operator reaches a failed chunk after the job closed (the "Active sub-jobs" list only shows what
 * still runs).
 */
import { badge, h, jobHref, progressBar, type Child } from './dom.js';
import type { JobTreeNode } from './types.js';

/** The id a node is shown with: the part after its parent's id (the full id is its link's title). */
function shortId(node: JobTreeNode, parentId: string): string {
  return node.jobId.startsWith(`${parentId}/`) ? node.jobId.slice(parentId.length + 1) : node.jobId;
}

function nodeItem(node: JobTreeNode, parentId: string): HTMLLIElement {
  return h(
    'li',
    { 'data-job-id': node.jobId },
    h(
      'div',
      { class: 'tree-node' },
      h('a', { href: jobHref(node.jobId), title: node.jobId, 'data-link': 'tree' }, shortId(node, parentId)),
      h('span', { class: 'hint' }, node.type),
      badge(node.status),
      progressBar(`Progress of sub-job ${node.jobId}`, node.progress),
      node.subtree.total > 0 ? h('span', { class: 'hint rollup' }, rollup(node.subtree)) : null,
    ),
    node.children.length > 0 ? list(node.children, node.jobId) : null,
    node.truncated ? h('p', { class: 'hint' }, 'More sub-jobs exist than the tree shows.') : null,
  );
}

/** "3 sub-jobs: 2 completed, 1 failed": a subtree's counts, the statuses it has only. */
export function rollup(counts: JobTreeNode['subtree']): string {
  const parts = Object.entries(counts.byStatus)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status.replace(/_/g, ' ')}`);
  return `${counts.total} sub-job${counts.total === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** The counts of a list of nodes and everything below them. */
function totals(nodes: JobTreeNode[]): JobTreeNode['subtree'] {
  const out = { total: 0, byStatus: {} as Record<string, number> } as JobTreeNode['subtree'];
  const add = (status: string, n: number): void => {
    const by = out.byStatus as Record<string, number>;
    by[status] = (by[status] ?? 0) + n;
  };
  for (const n of nodes) {
    out.total += 1 + n.subtree.total;
    add(n.status, 1);
    for (const [status, k] of Object.entries(n.subtree.byStatus)) add(status, k);
  }
  return out;
}

function list(nodes: JobTreeNode[], parentId: string): HTMLUListElement {
  return h(
    'ul',
    { class: 'tree' },
    nodes.map((n) => nodeItem(n, parentId)),
  );
}

/** The tree under `jobId`, or a line saying there is none (yet). */
export function renderTree(nodes: JobTreeNode[] | null, jobId: string): Child {
  if (nodes === null) return h('p', { class: 'hint' }, 'Loading…');
  if (nodes.length === 0) return h('p', { class: 'hint' }, 'No sub-jobs.');
  return [
    h('p', { class: 'rollup', 'data-testid': 'tree-rollup' }, rollup(totals(nodes))),
    list(nodes, jobId),
  ];
}
