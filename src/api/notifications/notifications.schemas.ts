/** The shapes of `/api/notifications`: zod schemas written once (they feed `/openapi.json`). */
import { z } from 'zod';
import { named } from '../../../workflows/schema-registry';
import { NOTIFICATION_EVENTS } from '../../../workflows/notifications/contracts';

/** Bounds: subscriptions per deployment (API-made), URL length, job types a filter may name. */
export const MAX_SUBSCRIPTIONS = 100;
export const MAX_URL_LENGTH = 2048;
export const MAX_JOB_TYPES = 50;

export const notificationEventSchema = z.enum(NOTIFICATION_EVENTS);

const urlSchema = z
  .string()
  .max(MAX_URL_LENGTH)
  .refine((u) => URL.canParse(u), 'must be an absolute URL')
  .describe('Where events are POSTed (http or https; see docs/notifications.md for the address policy)');

const eventsSchema = z
  .array(notificationEventSchema)
  .min(1)
  .max(NOTIFICATION_EVENTS.length)
  .refine((e) => new Set(e).size === e.length, 'lists an event twice')
  .describe(
    'The events wanted. `job.stalled`, `job.held`, `job.awaiting_approval` and `job.eta_overrun` are about open jobs: once per stall, hold and approval wait, once per run for an overrun',
  );

const jobTypesSchema = z
  .array(z.string().min(1).max(200))
  .min(1)
  .max(MAX_JOB_TYPES)
  .nullable()
  .describe('Only jobs of these types; null or absent: every type');

export const subscriptionIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'not a subscription id');

export const createSubscriptionBodySchema = named(
  'CreateSubscriptionBody',
  z
    .object({
      url: urlSchema,
      events: eventsSchema,
      jobTypes: jobTypesSchema.optional(),
      description: z.string().max(200).nullable().optional(),
      enabled: z.boolean().default(true),
    })
    .strict(),
  'input',
);
export type CreateSubscriptionBody = z.output<typeof createSubscriptionBodySchema>;

export const updateSubscriptionBodySchema = named(
  'UpdateSubscriptionBody',
  z
    .object({
      url: urlSchema.optional(),
      events: eventsSchema.optional(),
      jobTypes: jobTypesSchema.optional(),
      description: z.string().max(200).nullable().optional(),
      enabled: z.boolean().optional(),
    })
    .strict(),
  'input',
);
export type UpdateSubscriptionBody = z.output<typeof updateSubscriptionBodySchema>;

export const subscriptionSchema = named(
  'Subscription',
  z.object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(notificationEventSchema),
    jobTypes: z.array(z.string()).nullable(),
    enabled: z.boolean(),
    source: z
      .enum(['api', 'file'])
      .describe('`file`: declared in STEPWISE_NOTIFICATIONS_FILE, read-only through the API'),
    createdAt: z.string(),
    updatedAt: z.string(),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .describe('After a rotation: until when the previous secret still signs (a second signature)'),
  }),
);
export type Subscription = z.output<typeof subscriptionSchema>;

export const createdSubscriptionSchema = named(
  'CreatedSubscription',
  subscriptionSchema.extend({
    secret: z.string().describe('The signing secret, `whsec_<base64>`: shown only in this answer'),
  }),
);
export type CreatedSubscription = z.output<typeof createdSubscriptionSchema>;

export const subscriptionListSchema = named(
  'SubscriptionList',
  z.object({ subscriptions: z.array(subscriptionSchema) }),
);

export const rotatedSecretSchema = named(
  'RotatedSecret',
  z.object({
    id: z.string(),
    secret: z.string().describe('The new secret: shown only in this answer'),
    previousSecretExpiresAt: z
      .string()
      .describe('Until then, deliveries carry a signature with the old secret too'),
  }),
);
export type RotatedSecret = z.output<typeof rotatedSecretSchema>;

export const deliveryStatusSchema = z.enum(['pending', 'retrying', 'delivered', 'failed']);

export const deliveryAttemptSchema = z.object({
  attempt: z.number().int(),
  at: z.string(),
  statusCode: z.number().int().nullable().describe('The receiver’s answer; null when none came'),
  latencyMs: z.number().int().nullable(),
  error: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
});

export const deliverySchema = named(
  'Delivery',
  z.object({
    id: z.string().describe('The delivery workflow’s id'),
    webhookId: z
      .string()
      .describe('The `webhook-id` header: the same for every attempt and replay of an event'),
    subscriptionId: z.string(),
    event: z.string(),
    jobId: z.string().nullable(),
    runId: z.string().nullable(),
    replayOf: z.string().nullable(),
    createdAt: z.string(),
    status: deliveryStatusSchema,
    attempts: z.array(deliveryAttemptSchema),
    nextAttemptAt: z.string().nullable(),
  }),
);
export type Delivery = z.output<typeof deliverySchema>;

export const deliveryPageSchema = named(
  'DeliveryPage',
  z.object({ deliveries: z.array(deliverySchema), nextPageToken: z.string().nullable() }),
);
export type DeliveryPage = z.output<typeof deliveryPageSchema>;

export function encodeDeliveryPageToken(seq: number): string {
  return Buffer.from(`d1.${seq}`, 'utf8').toString('base64url');
}

function decodeDeliveryPageToken(token: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(token)) return undefined;
  const m = /^d1\.([1-9]\d{0,15})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

export const deliveriesQuerySchema = z
  .object({
    subscriptionId: subscriptionIdSchema.optional(),
    status: deliveryStatusSchema.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    pageToken: z
      .string()
      .max(40)
      .transform((t, ctx) => {
        const seq = decodeDeliveryPageToken(t);
        if (seq === undefined) {
          ctx.addIssue({ code: 'custom', message: 'not a page token of this list' });
          return z.NEVER;
        }
        return seq;
      })
      .optional(),
  })
  .strict();
export type DeliveriesQuery = z.output<typeof deliveriesQuerySchema>;

/** A deployment's file (`STEPWISE_NOTIFICATIONS_FILE`): subscriptions whose secrets come from env vars. */
export const notificationsFileSchema = z
  .object({
    subscriptions: z
      .array(
        z
          .object({
            id: subscriptionIdSchema,
            url: urlSchema,
            events: eventsSchema,
            jobTypes: jobTypesSchema.optional(),
            description: z.string().max(200).nullable().optional(),
            enabled: z.boolean().default(true),
            secretEnv: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
              .describe('The variable holding the secret (`whsec_<base64 of 24–64 bytes>`)'),
          })
          .strict(),
      )
      .max(MAX_SUBSCRIPTIONS),
  })
  .strict();
