/** Standard Webhooks signing, the payload shape and its bound, and the retry schedule (pure). */
import { createHmac } from 'node:crypto';
import {
  jobEventBody,
  eventForStatus,
  MAX_PAYLOAD_BYTES,
  type JobEventData,
} from '../../src/notifications/payload';
import { urlRefusal } from '../../src/notifications/send';
import { isValidSecret, newSecret, sign, webhookHeaders } from '../../src/notifications/signing';
import { backoffMs, nextDelayMs, type RetrySchedule } from '../../workflows/notifications/contracts';

describe('Standard Webhooks signatures', () => {
  it('matches the reference libraries’ test vector', () => {
    // The vector the standard-webhooks reference implementations test against.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('signs id.timestamp.body with the secret’s bytes; several secrets give space-separated signatures', () => {
    const a = newSecret();
    const b = newSecret();
    expect(isValidSecret(a)).toBe(true);
    const h = webhookHeaders([a, b], 'webhook:s:r:job.failed', 1700000000, '{"x":1}');
    const expected = (s: string) =>
      `v1,${createHmac('sha256', Buffer.from(s.slice(6), 'base64'))
        .update('webhook:s:r:job.failed.1700000000.{"x":1}')
        .digest('base64')}`;
    expect(h).toEqual({
      'webhook-id': 'webhook:s:r:job.failed',
      'webhook-timestamp': '1700000000',
      'webhook-signature': `${expected(a)} ${expected(b)}`,
    });
  });

  it('accepts only whsec_ secrets of 24–64 bytes', () => {
    expect(isValidSecret(`whsec_${Buffer.alloc(24).toString('base64')}`)).toBe(true);
    expect(isValidSecret(`whsec_${Buffer.alloc(16).toString('base64')}`)).toBe(false);
    expect(isValidSecret(`whsec_${Buffer.alloc(65).toString('base64')}`)).toBe(false);
    expect(isValidSecret('secret')).toBe(false);
  });
});

describe('payloads', () => {
  const data: JobEventData = {
    jobId: 'j',
    runId: 'r',
    jobType: 't',
    status: 'failed',
    step: 'load',
    stepName: 'Load',
    error: { message: 'boom', type: 'Error' },
    rootCause: {
      jobId: 'j/c',
      jobType: 'c',
      step: 'x',
      stepName: 'X',
      error: { message: 'deep', type: null },
    },
    startedBy: 'alice',
    hold: null,
    stall: null,
    etaOverrun: null,
    approval: null,
    links: { dashboard: 'http://127.0.0.1:3000/jobs/j', temporalUi: null },
  };

  it('maps closed statuses to events', () => {
    expect(
      ['failed', 'completed_with_errors', 'cancelled', 'completed', 'running'].map(eventForStatus),
    ).toEqual(['job.failed', 'job.completed_with_errors', 'job.cancelled', 'job.completed', null]);
  });

  it('is {type, timestamp, data}, and stays under the bound by dropping the root cause, then cutting messages', () => {
    expect(JSON.parse(jobEventBody('job.failed', '2026-01-01T00:00:00.000Z', data))).toEqual({
      type: 'job.failed',
      timestamp: '2026-01-01T00:00:00.000Z',
      data,
    });
    const huge = { ...data, jobId: 'j'.repeat(200), error: { message: 'x'.repeat(100_000), type: null } };
    const body = jobEventBody('job.failed', 't', huge);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(JSON.parse(body).data.rootCause).toBeNull();
  });
});

describe('address policy at creation', () => {
  it('names the rule', () => {
    expect(urlRefusal(new URL('http://169.254.169.254/'), true)).toMatch(/link-local.*never allowed/);
    expect(urlRefusal(new URL('http://127.0.0.1:9/'), false)).toMatch(
      /loopback.*STEPWISE_WEBHOOK_ALLOW_PRIVATE/,
    );
    expect(urlRefusal(new URL('http://127.0.0.1:9/'), true)).toBeNull();
    expect(urlRefusal(new URL('http://localhost/'), false)).toMatch(/loopback name/);
    expect(urlRefusal(new URL('ftp://example.com/'), true)).toMatch(/only http and https/);
    expect(urlRefusal(new URL('https://u:p@example.com/'), true)).toMatch(/credentials/);
    expect(urlRefusal(new URL('https://example.com/hook'), false)).toBeNull();
  });
});

describe('retry schedule', () => {
  const s: RetrySchedule = {
    initialIntervalMs: 5000,
    backoffCoefficient: 2,
    maximumIntervalMs: 3_600_000,
    deadlineMs: 86_400_000,
    attemptTimeoutMs: 10_000,
  };
  it('doubles to the cap and stops at the deadline', () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(s, a))).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(backoffMs(s, 30)).toBe(3_600_000);
    expect(nextDelayMs(s, 1, 0)).toBe(5000);
    expect(nextDelayMs(s, 30, 86_400_000 - 1000)).toBeNull();
    // Attempts within a day with the defaults: bounded (the history cost of one delivery).
    let elapsed = 0;
    let attempts = 1;
    for (let d = nextDelayMs(s, 1, 0); d !== null; d = nextDelayMs(s, attempts, elapsed)) {
      elapsed += d;
      attempts++;
    }
    expect(attempts).toBeLessThan(40);
  });
});
