import { checkControl, deriveStatus, type ControlView } from '../../workflows/engine/control';
import { childJobId } from '../../workflows/engine/children';

const running = (over: Partial<ControlView> = {}): ControlView => ({
  jobId: 'job-1',
  status: 'running',
  closedAt: null,
  cancellation: null,
  control: { paused: false, actions: [] },
  ...over,
});
const paused = running({ status: 'paused', control: { paused: true, actions: [] } });
const cancelling = running({
  status: 'cancelling',
  cancellation: {
    requestedAt: '2026-01-01T00:00:00.000Z',
    by: null,
    reason: null,
    source: 'update',
    leftRunning: [],
    cleanup: null,
  },
});
const closed = running({ status: 'completed', closedAt: '2026-01-01T00:00:00.000Z' });

describe('checkControl', () => {
  it('accepts each action where it fits', () => {
    expect(checkControl(running(), 'pause', { reason: 'maintenance', by: 'ops' })).toBeNull();
    expect(checkControl(paused, 'resume', undefined)).toBeNull();
    expect(checkControl(running(), 'cancel', {})).toBeNull();
    expect(checkControl(paused, 'cancel', {})).toBeNull();
  });

  it('refuses what does not fit the state, naming the job and its status', () => {
    expect(checkControl(paused, 'pause', {})).toEqual({
      type: 'AlreadyPaused',
      message: 'Job "job-1" is already paused (paused)',
    });
    expect(checkControl(running(), 'resume', {})).toEqual({
      type: 'NotPaused',
      message: 'Job "job-1" is not paused (running)',
    });
    for (const action of ['pause', 'resume', 'cancel'] as const) {
      expect(checkControl(closed, action, {})?.type).toBe('JobClosed');
      expect(checkControl(cancelling, action, {})?.type).toBe('JobCancelling');
    }
  });

  it('checks the payload before the state, with the issue path', () => {
    expect(checkControl(closed, 'pause', { reason: 7 })).toEqual({
      type: 'InvalidControlPayload',
      message: expect.stringMatching(/^Invalid payload: reason: /) as unknown as string,
    });
    expect(checkControl(running(), 'pause', { extra: true })?.type).toBe('InvalidControlPayload');
    expect(checkControl(running(), 'pause', { reason: 'x'.repeat(1001) })?.type).toBe(
      'InvalidControlPayload',
    );
  });
});

describe('deriveStatus', () => {
  it('is cancelling whatever else holds', () => {
    expect(deriveStatus({ cancelling: true, paused: true, busy: false })).toBe('cancelling');
    expect(deriveStatus({ cancelling: true, paused: false, busy: true })).toBe('cancelling');
  });

  it('is pausing while work runs, paused once nothing does', () => {
    expect(deriveStatus({ cancelling: false, paused: true, busy: true })).toBe('pausing');
    expect(deriveStatus({ cancelling: false, paused: true, busy: false })).toBe('paused');
  });

  it('is running when not paused, busy or not', () => {
    expect(deriveStatus({ cancelling: false, paused: false, busy: true })).toBe('running');
    expect(deriveStatus({ cancelling: false, paused: false, busy: false })).toBe('running');
  });

  it('is awaiting_approval while an approval step waits, unless cancelling, held or paused; before stalled', () => {
    const base = { cancelling: false, paused: false, busy: false, awaitingApproval: true };
    expect(deriveStatus(base)).toBe('awaiting_approval');
    expect(deriveStatus({ ...base, stalled: true })).toBe('awaiting_approval');
    expect(deriveStatus({ ...base, held: true })).toBe('held');
    expect(deriveStatus({ ...base, paused: true })).toBe('paused');
    expect(deriveStatus({ ...base, cancelling: true })).toBe('cancelling');
  });
});

describe('childJobId', () => {
  const base = { jobId: 'imp-1', stepKey: 'process', recoveryAttempt: 0, attempt: 1 };
  it('names a step child by job and step, with recovery and attempt suffixes', () => {
    expect(childJobId(base)).toBe('imp-1/process');
    expect(childJobId({ ...base, attempt: 2 })).toBe('imp-1/process-a2');
    expect(childJobId({ ...base, recoveryAttempt: 1, attempt: 3 })).toBe('imp-1/process-r1-a3');
  });

  it('puts a batch chunk under its step, before the attempt suffix', () => {
    expect(childJobId({ ...base, chunk: 4 })).toBe('imp-1/process/4');
    expect(childJobId({ ...base, recoveryAttempt: 2, attempt: 2, chunk: 0 })).toBe('imp-1/process-r2/0-a2');
  });
});
