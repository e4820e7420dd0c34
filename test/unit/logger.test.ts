/** The structured logger's line format: fixed fields, job fields, bigint and error (with causes) as JSON. */
import { JsonLogger } from '../../src/logger';

function capture(level: 'info' | 'debug' = 'info'): { logger: JsonLogger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return {
    logger: new JsonLogger('api', level, (l) => lines.push(JSON.parse(l) as Record<string, unknown>)),
    lines,
  };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line with time, level, component and message', () => {
    const { logger, lines } = capture();
    logger.info('hello', { requestId: 'r1', at: 12n });
    logger.debug('not at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      component: 'api',
      message: 'hello',
      requestId: 'r1',
      at: '12',
    });
    expect(new Date(lines[0].time as string).toISOString()).toBe(lines[0].time);
  });

  it('keeps an error with its type, stack and cause chain', () => {
    const { logger, lines } = capture();
    const err = new TypeError('outer', { cause: new Error('inner', { cause: 'root reason' }) });
    logger.error('failed', { error: err });
    expect(lines[0].error).toMatchObject({
      type: 'TypeError',
      message: 'outer',
      cause: { type: 'Error', message: 'inner', cause: 'root reason' },
    });
    expect((lines[0].error as { stack: string }).stack).toContain('TypeError: outer');
  });

  it('gives every job line all four job fields', () => {
    const { logger, lines } = capture();
    logger.info('step', { jobId: 'j', jobType: 't' });
    expect(lines[0]).toMatchObject({ jobId: 'j', jobType: 't', parentJobId: null, step: null });
  });
});
