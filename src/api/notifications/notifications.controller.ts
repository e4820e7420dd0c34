import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { z } from 'zod';
import { ZodPipe } from '../common/pipes/zod.pipe';
import { Audited, Roles } from '../common/route-policy';
import { ApiOperation } from '../openapi/api-operation';
import {
  createdSubscriptionSchema,
  createSubscriptionBodySchema,
  deliveriesQuerySchema,
  deliveryPageSchema,
  deliverySchema,
  rotatedSecretSchema,
  subscriptionIdSchema,
  subscriptionListSchema,
  subscriptionSchema,
  updateSubscriptionBodySchema,
  type CreateSubscriptionBody,
  type CreatedSubscription,
  type DeliveriesQuery,
  type Delivery,
  type DeliveryPage,
  type RotatedSecret,
  type Subscription,
  type UpdateSubscriptionBody,
} from './notifications.schemas';
import { NotificationsService } from './notifications.service';

const IdPipe = new ZodPipe(subscriptionIdSchema, 'subscription id');
const idParams = z.object({ id: subscriptionIdSchema });
const deliveryIdSchema = z.string().min(1).max(400);
const deliveryParams = z.object({ id: deliveryIdSchema });
const DeliveryIdPipe = new ZodPipe(deliveryIdSchema, 'delivery id');
const emptyBody = z.object({}).strict();
const EmptyBodyPipe = new ZodPipe(emptyBody.optional());

/** Webhook subscriptions and their delivery log (admin only; see docs/notifications.md). */
@Controller('api/notifications')
@Roles('admin')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Post('subscriptions')
  @Audited('subscribe')
  @ApiOperation({
    summary: 'Create a webhook subscription (the answer shows its secret, once)',
    tags: ['notifications'],
    body: createSubscriptionBodySchema,
    bodyRequired: true,
    responses: { 201: { description: 'Created', schema: createdSubscriptionSchema } },
    errors: {
      400: 'Invalid body, a URL the address policy refuses (the message names the rule), or an unknown job type',
      409: 'Too many subscriptions',
    },
  })
  create(
    @Body(new ZodPipe(createSubscriptionBodySchema)) body: CreateSubscriptionBody,
  ): Promise<CreatedSubscription> {
    return this.notifications.create(body);
  }

  @Get('subscriptions')
  @ApiOperation({
    summary: 'Every subscription (the file’s and the API’s; never a secret)',
    tags: ['notifications'],
    responses: { 200: { description: 'The subscriptions', schema: subscriptionListSchema } },
  })
  list(): { subscriptions: Subscription[] } {
    return { subscriptions: this.notifications.list() };
  }

  @Get('subscriptions/:id')
  @ApiOperation({
    summary: 'One subscription',
    tags: ['notifications'],
    params: idParams,
    responses: { 200: { description: 'The subscription', schema: subscriptionSchema } },
    errors: { 404: 'No such subscription' },
  })
  get(@Param('id', IdPipe) id: string): Subscription {
    return this.notifications.get(id);
  }

  @Patch('subscriptions/:id')
  @Audited('update-subscription')
  @ApiOperation({
    summary: 'Change a subscription’s URL, events, job types, description or enabled flag',
    tags: ['notifications'],
    params: idParams,
    body: updateSubscriptionBodySchema,
    bodyRequired: true,
    responses: { 200: { description: 'Changed', schema: subscriptionSchema } },
    errors: { 400: 'Invalid body or refused URL', 404: 'No such subscription', 409: 'Declared in the file' },
  })
  update(
    @Param('id', IdPipe) id: string,
    @Body(new ZodPipe(updateSubscriptionBodySchema)) body: UpdateSubscriptionBody,
  ): Promise<Subscription> {
    return this.notifications.update(id, body);
  }

  @Delete('subscriptions/:id')
  @Audited('unsubscribe')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Delete a subscription (its deliveries still retrying fail at their next attempt)',
    tags: ['notifications'],
    params: idParams,
    responses: { 204: { description: 'Deleted' } },
    errors: { 404: 'No such subscription', 409: 'Declared in the file' },
  })
  delete(@Param('id', IdPipe) id: string): void {
    this.notifications.delete(id);
  }

  @Post('subscriptions/:id/test')
  @Audited('test-subscription')
  @ApiOperation({
    summary: 'Send a `test` event through the delivery path',
    tags: ['notifications'],
    params: idParams,
    body: emptyBody,
    responses: { 202: { description: 'The delivery, started', schema: deliverySchema } },
    errors: { 404: 'No such subscription' },
  })
  @HttpCode(HttpStatus.ACCEPTED)
  test(@Param('id', IdPipe) id: string, @Body(EmptyBodyPipe) _body: unknown): Promise<Delivery> {
    return this.notifications.test(id);
  }

  @Post('subscriptions/:id/rotate-secret')
  @Audited('rotate-secret')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Replace the secret; the old one keeps signing (a second signature) during the overlap',
    tags: ['notifications'],
    params: idParams,
    body: emptyBody,
    responses: { 200: { description: 'The new secret (shown once)', schema: rotatedSecretSchema } },
    errors: { 404: 'No such subscription', 409: 'Declared in the file (rotate its variable)' },
  })
  rotate(@Param('id', IdPipe) id: string, @Body(EmptyBodyPipe) _body: unknown): RotatedSecret {
    return this.notifications.rotateSecret(id);
  }

  @Get('deliveries')
  @ApiOperation({
    summary: 'The delivery log, newest first: attempts, status codes, latency, next attempt',
    tags: ['notifications'],
    query: deliveriesQuerySchema,
    responses: { 200: { description: 'A page of deliveries', schema: deliveryPageSchema } },
    errors: { 400: 'Bad filter or pageToken' },
  })
  deliveries(@Query(new ZodPipe(deliveriesQuerySchema, 'query')) q: DeliveriesQuery): DeliveryPage {
    return this.notifications.deliveries(q);
  }

  @Post('deliveries/:id/replay')
  @Audited('replay-delivery')
  @ApiOperation({
    summary: 'Send a finished delivery’s event again (same webhook-id and body)',
    tags: ['notifications'],
    params: deliveryParams,
    body: emptyBody,
    responses: { 202: { description: 'The replay, started', schema: deliverySchema } },
    errors: { 404: 'No such delivery or subscription', 409: 'Still pending or retrying' },
  })
  @HttpCode(HttpStatus.ACCEPTED)
  replay(@Param('id', DeliveryIdPipe) id: string, @Body(EmptyBodyPipe) _body: unknown): Promise<Delivery> {
    return this.notifications.replay(id);
  }
}
