/** Which events an open job owes, and how each episode is named (one delivery per episode). */
import { z } from 'zod';
import type { JobState } from '../../workflows/contracts';
import { jobBuilder } from '../../workflows/engine/builder';
import { initialJobState } from '../../workflows/engine/state';
import { deliveryId, openEvents } from '../../src/notifications/notifier';
import { jobEventData } from '../../src/notifications/payload';

const job = jobBuilder<{ work(): Promise<object> }>();
const def = job({ name: 'openEvents', description: 'open events', input: z.object({}) })
  .activity('a', { name: 'A', activity: 'work' })
  .activity('b', { name: 'B', activity: 'work' })
  .build();
const fresh = (): JobState => initialJobState(def, { input: {} }, { workflowId: 'j', runId: 'r' });
const links = { dashboardUrl: 'http://127.0.0.1:3000', temporalUiUrl: null, namespace: 'default' };
const error = { message: 'ECONNRESET', type: 'Error', nonRetryable: false, details: null };

describe('openEvents', () => {
  it('owes nothing for a running job, nor for a closed one that was held', () => {
    expect(openEvents(fresh())).toEqual([]);
    const closed = fresh();
    closed.closedAt = '2026-12-05T10:00:00.000Z';
    closed.status = 'failed';
    closed.hold = {
      step: 'a',
      stepName: 'A',
      since: '2026-12-05T09:00:00.000Z',
      error,
      attempts: 3,
      timeoutAt: null,
    };
    expect(openEvents(closed)).toEqual([]);
  });

  it('names a hold by its step and since when: a second hold of the step is another episode', () => {
    const s = fresh();
    s.status = 'held';
    s.hold = {
      step: 'a',
      stepName: 'A',
      since: '2026-12-05T09:00:00.000Z',
      error,
      attempts: 3,
      timeoutAt: null,
    };
    const [first] = openEvents(s);
    expect(first).toEqual({
      event: 'job.held',
      episode: `a@${Date.parse('2026-12-05T09:00:00.000Z')}`,
      at: s.hold.since,
    });
    s.hold = { ...s.hold, since: '2026-12-05T09:05:00.000Z', attempts: 4 };
    const [second] = openEvents(s);
    expect(deliveryId('sub', 'r', second!.event, second!.episode)).not.toBe(
      deliveryId('sub', 'r', first!.event, first!.episode),
    );
    // The payload is about the held step and its error.
    const data = jobEventData(s, null, links, 'job.held');
    expect(data).toMatchObject({
      step: 'a',
      stepName: 'A',
      error: { message: 'ECONNRESET' },
      hold: { attempts: 4, timeoutAt: null },
      stall: null,
      etaOverrun: null,
    });
  });

  it('owes a stall only while the status says stalled (a paused job is not), dated at its threshold', () => {
    const s = fresh();
    s.stalled = { step: 'b', stepName: 'B', since: '2026-12-05T09:00:00.000Z', thresholdMs: 10_000 };
    s.status = 'paused';
    expect(openEvents(s)).toEqual([]);
    s.status = 'stalled';
    expect(openEvents(s)).toEqual([
      { event: 'job.stalled', episode: `b@${Date.parse(s.stalled.since)}`, at: '2026-12-05T09:00:10.000Z' },
    ]);
    expect(jobEventData(s, null, links, 'job.stalled')).toMatchObject({
      step: 'b',
      stall: { since: s.stalled.since, thresholdMs: 10_000 },
      hold: null,
    });
  });

  it('owes one overrun per run (no episode)', () => {
    const s = fresh();
    s.etaOverrun = { overrunAfterMs: 15_000, at: '2026-12-05T09:00:15.000Z' };
    expect(openEvents(s)).toEqual([{ event: 'job.eta_overrun', episode: undefined, at: s.etaOverrun.at }]);
    expect(deliveryId('sub', 'r', 'job.eta_overrun')).toBe('webhook:sub:r:job.eta_overrun');
  });

  it('owes an approval wait per step and since when, not while the job is paused', () => {
    const s = fresh();
    const b = s.steps[1];
    Object.assign(b, { status: 'running', attempt: 1, startedAt: '2026-12-05T09:00:00.000Z' });
    b.approval = {
      status: 'awaiting',
      role: 'admin',
      message: 'Ship it?',
      since: '2026-12-05T09:00:00.000Z',
      timeoutAt: '2026-12-05T10:00:00.000Z',
      onTimeout: 'fail',
      onReject: 'continue',
      by: null,
      comment: null,
      decidedAt: null,
    };
    s.status = 'awaiting_approval';
    const due = {
      event: 'job.awaiting_approval',
      episode: `b@${Date.parse(b.approval.since)}`,
      at: b.approval.since,
    };
    expect(openEvents(s)).toEqual([due]);
    expect(jobEventData(s, null, links, 'job.awaiting_approval')).toMatchObject({
      status: 'awaiting_approval',
      step: 'b',
      stepName: 'B',
      approval: {
        role: 'admin',
        since: b.approval.since,
        timeoutAt: b.approval.timeoutAt,
        message: 'Ship it?',
      },
      hold: null,
    });
    // Paused, nobody can decide: nothing is owed; resumed, the same episode (delivered once).
    s.control.paused = true;
    s.status = 'paused';
    expect(openEvents(s)).toEqual([]);
    s.control.paused = false;
    s.status = 'awaiting_approval';
    expect(openEvents(s)).toEqual([due]);
    // Decided: nothing more.
    Object.assign(b.approval, { status: 'approved', by: 'alice', decidedAt: '2026-12-05T09:01:00.000Z' });
    expect(openEvents(s)).toEqual([]);
    expect(jobEventData(s, null, links, 'job.held').approval).toBeNull();
  });
});
