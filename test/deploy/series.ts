/**
 * Which series the dashboard and the alert rules under deploy/ read, and which series a running
 * Stepwise serves: the names a PromQL expression selects, and the sample names of a Prometheus
 * text exposition. Used by test/deploy/metric-series.test.ts; unit-tested in
 * test/unit/deploy-series.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const DEPLOY_DIR = join(__dirname, '..', '..', 'deploy');
export const DASHBOARD_PATH = join(DEPLOY_DIR, 'grafana', 'stepwise.json');
export const RULES_PATH = join(DEPLOY_DIR, 'prometheus', 'alerts.yml');

/** Words of PromQL that look like names but select nothing. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/**
 * The metric names an expression selects: every name that is not a function, an aggregation, a
 * keyword, a label (in `{…}`, `by (…)`, `on (…)` …), a string or a Grafana variable.
 */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w:.$])[a-zA-Z_:][\w:]*/g)) {
    const word = m[0];
    if (/^\s*\(/.test(s.slice(m.index + word.length))) continue;
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}

/** Every `expr` of a Grafana dashboard (panels, rows, targets) and its `label_values()` variables. */
export function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown, key: string | null): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, key));
    if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, k);
      return;
    }
    if (typeof node !== 'string') return;
    if (key === 'expr') out.push(node);
    // A variable's query: label_values(<selector>, <label>) reads the selector's series.
    const lv = key === 'query' ? /^label_values\((.*),\s*\w+\s*\)$/.exec(node.trim()) : null;
    if (lv) out.push(lv[1]);
  };
  walk(dashboard, null);
  return out;
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

/** The rules of a Prometheus rule file: alerts and recording rules, with their expressions. */
export function ruleExpressions(yamlText: string): { name: string; expr: string; recorded: boolean }[] {
  const file = parse(yamlText) as RuleFile;
  return file.groups.flatMap((g) =>
    g.rules.map((r) => ({ name: r.alert ?? r.record ?? '', expr: String(r.expr), recorded: !!r.record })),
  );
}

/** The sample names of a text exposition (`name{labels} value` lines; histograms as _bucket/_sum/_count). */
export function exposedSeries(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{|\s)/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

/**
 * The sum of a series' samples in a text exposition over every line whose labels include all of
 * `labels` (0 when none does).
 */
export function sampleSum(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The `# TYPE` of each metric family in a text exposition. */
export function exposedTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE ([a-zA-Z_:][\w:]*) (\w+)$/gm)) types.set(m[1], m[2]);
  return types;
}

/** Series Prometheus makes itself for every scrape target: not exported, always there. */
export const SCRAPE_SERIES = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
]);

/** Every series the dashboard and the rules read, by where they read it. */
export function referencedSeries(): Map<string, string[]> {
  const refs = new Map<string, string[]>();
  const add = (name: string, where: string): void => {
    refs.set(name, [...(refs.get(name) ?? []), where]);
  };
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as unknown;
  for (const expr of dashboardExpressions(dashboard)) {
    for (const n of metricNames(expr)) add(n, `dashboard: ${expr}`);
  }
  const rules = ruleExpressions(readFileSync(RULES_PATH, 'utf8'));
  const recorded = new Set(rules.filter((r) => r.recorded).map((r) => r.name));
  for (const r of rules) {
    for (const n of metricNames(r.expr)) if (!recorded.has(n)) add(n, `rule ${r.name}: ${r.expr}`);
  }
  return refs;
}
