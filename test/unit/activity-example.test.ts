/**
 * The activity guide's example (`test/types/activity-example.ts`, shown in docs/activities.md) is
 * the code the guide shows, word for word, and it does what the guide says: progress with a final
 * message on the result, stats and log lines for the job, a heartbeat per item so a cancellation
 * stops it, a non-retryable error for arguments no retry can fix, and field help from `.describe()`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { z } from 'zod';
import type { ActivityJobRef } from '../../workflows/engine/step-io';
import { splitResult } from '../../workflows/engine/transitions';
import {
  createThumbnailActivities,
  thumbnailsDefinition,
  type ThumbnailDeps,
} from '../types/activity-example';

const ROOT = join(__dirname, '..', '..');
const example = readFileSync(join(ROOT, 'test/types/activity-example.ts'), 'utf8');
const guide = readFileSync(join(ROOT, 'docs/activities.md'), 'utf8');

/** The regions of the example file, by name, as the guide must show them. */
function regions(source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of source.matchAll(/^\/\/ #region (\S+)\n([\s\S]*?)^\/\/ #endregion \1$/gm)) {
    out.set(m[1], m[2].trimEnd());
  }
  return out;
}

const job: ActivityJobRef = {
  jobId: 'thumbs-1',
  jobType: 'thumbnails',
  parentJobId: null,
  stepKey: 'thumbnails',
  stepIndex: 1,
  attempt: 1,
  reportProgress: true,
};

/** A client whose progress signals are recorded instead of sent. */
function recordingClient(): { client: Client; signals: unknown[] } {
  const signals: unknown[] = [];
  const client = {
    workflow: {
      getHandle: () => ({ signal: async (_def: unknown, report: unknown) => void signals.push(report) }),
    },
  } as unknown as Client;
  return { client, signals };
}

const environment = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

describe('the activity guide', () => {
  it('shows each region of the compiled example word for word', () => {
    const found = regions(example);
    expect([...found.keys()]).toEqual(['contract', 'implementation', 'job-type']);
    const fences = [...guide.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1].trimEnd());
    for (const [name, code] of found) {
      expect({ name, shown: fences.includes(code) }).toEqual({ name, shown: true });
    }
  });

  it('reports progress, heartbeats per image, and returns what the job folds in', async () => {
    const { client, signals } = recordingClient();
    const deps: ThumbnailDeps = {
      client,
      render: async (image) => (image.endsWith('.txt') ? null : `thumbs/${image}`),
    };
    const env = environment();
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const raw = await env.run(createThumbnailActivities(deps).makeThumbnails, job, {
      images: ['a.png', 'notes.txt', 'b.png'],
      width: 64,
    });
    expect(heartbeats).toHaveLength(3);
    // Work this short sends no progress signal: its final message rides on the result.
    expect(signals).toEqual([]);
    expect(splitResult(raw as never)).toEqual({
      result: { written: ['thumbs/a.png', 'thumbs/b.png'], skipped: ['notes.txt'] },
      message: '3/3 images',
      stats: { itemsProcessed: 2, itemsCreated: 2, itemsFailed: 1 },
      logs: [
        { level: 'warn', message: 'Skipped notes.txt: not a readable image', entity: { tag: 'notes.txt' } },
      ],
    });
  });

  it('stops at the next image once cancelled', async () => {
    const env = environment();
    const rendered: string[] = [];
    const deps: ThumbnailDeps = {
      client: recordingClient().client,
      render: async (image) => {
        rendered.push(image);
        if (rendered.length === 2) env.cancel('CANCELLED');
        return `thumbs/${image}`;
      },
    };
    const run = env.run(createThumbnailActivities(deps).makeThumbnails, job, {
      images: ['a.png', 'b.png', 'c.png', 'd.png'],
      width: 64,
    });
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
    expect(rendered).toEqual(['a.png', 'b.png']);
  });

  it('fails arguments no retry can fix with a non-retryable error', async () => {
    const deps: ThumbnailDeps = { client: recordingClient().client, render: async () => 'x' };
    const err: unknown = await environment()
      .run(createThumbnailActivities(deps).makeThumbnails, job, { images: ['a.png'], width: 0 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'InvalidArgs', nonRetryable: true });
  });

  it("gives the new-job form its field help from the input schema's `.describe()`", () => {
    const schema = z.toJSONSchema(thumbnailsDefinition.input, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
    };
    expect(schema.properties.images.description).toBe('Image paths, relative to the image folder.');
    expect(schema.properties.width.description).toBe('Thumbnail width in pixels.');
    expect(thumbnailsDefinition.steps[0]).toMatchObject({
      activity: 'makeThumbnails',
      heartbeatTimeoutMs: 10_000,
    });
  });
});
