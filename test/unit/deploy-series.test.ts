/**
 * The metric names test/deploy/metric-series.test.ts reads out of the dashboard's and the alert
 * rules' PromQL: names only — not functions, aggregations, keywords, labels, strings, durations,
 * numbers or Grafana variables.
 */
import { readFileSync } from 'node:fs';
import {
  dashboardExpressions,
  DASHBOARD_PATH,
  exposedSeries,
  metricNames,
  referencedSeries,
  ruleExpressions,
  RULES_PATH,
  sampleSum,
} from '../deploy/series';

describe('metricNames', () => {
  it.each([
    ['up{job="stepwise-api"} == 0', ['up']],
    [
      'histogram_quantile(0.95, sum by (task_queue, le) (rate(temporal_activity_schedule_to_start_latency_bucket{job="w", task_queue=~"$task_queue"}[$__rate_interval]))) > 10',
      ['temporal_activity_schedule_to_start_latency_bucket'],
    ],
    [
      'sum(rate(a_total{status=~"5..", route!~"/health.*"}[5m])) / sum without (instance) (rate(b_total[5m])) > 0.05',
      ['a_total', 'b_total'],
    ],
    ['x unless x offset 15m or on (job) vector(1) and bool y', ['x', 'y']],
    ['absent(up{job="w"} == 1)', ['up']],
    ['sum by (job_type) (increase(c_total[15m])) >= 1e3 and d:recorded', ['c_total', 'd:recorded']],
    ['label_replace(m, "dst", "$1", "src", "(.*)")', ['m']],
    ['sum(m{a="b"}) by (le, instance)', ['m']],
  ])('%s', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });
});

describe('the committed dashboard and rules', () => {
  it('the dashboard has its panels expressions and its variables read series', () => {
    const exprs = dashboardExpressions(JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')));
    expect(exprs.length).toBeGreaterThan(20);
    expect(exprs).toContain('stepwise_jobs_started_total');
  });

  it('every alert has an expression naming a series', () => {
    const rules = ruleExpressions(readFileSync(RULES_PATH, 'utf8'));
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const r of rules) expect(metricNames(r.expr).length).toBeGreaterThan(0);
  });

  it('no duration is in milliseconds: the series used are in base units', () => {
    const names = [...referencedSeries().keys()];
    expect(names.filter((n) => /millis/.test(n))).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining([
        'stepwise_step_duration_seconds_bucket',
        'stepwise_job_duration_seconds_bucket',
      ]),
    );
  });
});

describe('exposedSeries', () => {
  it('reads sample names, not comments', () => {
    const text = [
      '# HELP a_total A',
      '# TYPE a_total counter',
      'a_total{x="1"} 3',
      'h_bucket{le="+Inf"} 1',
      'h_sum 2',
      'g 1',
    ].join('\n');
    expect([...exposedSeries(text)].sort()).toEqual(['a_total', 'g', 'h_bucket', 'h_sum']);
  });
});

describe('sampleSum', () => {
  it('sums the lines of a series whose labels include the given ones', () => {
    const text = [
      '# TYPE r_total counter',
      'r_total{job_type="a",outcome="completed",taskQueue="q"} 2',
      'r_total{job_type="a",outcome="failed",taskQueue="q"} 1',
      'r_total{job_type="b",outcome="completed",taskQueue="q"} 5',
      'r_total_other{job_type="a",outcome="completed"} 7',
    ].join('\n');
    expect(sampleSum(text, 'r_total', { job_type: 'a', outcome: 'completed' })).toBe(2);
    expect(sampleSum(text, 'r_total', { job_type: 'a' })).toBe(3);
    expect(sampleSum(text, 'r_total', { outcome: 'cancelled' })).toBe(0);
  });
});
