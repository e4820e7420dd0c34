import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { z } from 'zod';
import type { Actor } from '../../api-keys';
import type { StepwiseClient } from '../../client/client';
import { ZodPipe } from '../common/pipes/zod.pipe';
import { CurrentActor } from '../common/request-context';
import { Audited, Roles } from '../common/route-policy';
import { STEPWISE_CLIENT } from '../jobs/stepwise-client.provider';
import { ApiOperation } from '../openapi/api-operation';
import {
  backfillScheduleBodySchema,
  createScheduleBodySchema,
  listSchedulesQuerySchema,
  scheduleIdSchema,
  scheduleListSchema,
  scheduleNoteBodySchema,
  scheduleSchema,
  triggerScheduleBodySchema,
  updateScheduleBodySchema,
  type BackfillScheduleBody,
  type CreateScheduleBody,
  type ListSchedulesQuery,
  type Schedule,
  type ScheduleList,
  type ScheduleNoteBody,
  type TriggerScheduleBody,
  type UpdateScheduleBody,
} from './schemas';

const IdPipe = new ZodPipe(scheduleIdSchema, 'schedule id');
const idParams = z.object({ scheduleId: scheduleIdSchema });
const UNAVAILABLE = 'Temporal unavailable';
const NOT_FOUND = 'No schedule with this id (or it starts no job type of this app)';

/**
 * Schedules (docs/schedules.md): viewers read them, operators create and change them; every change
 * is audited. The work is the client's (`StepwiseClient.createSchedule` …); the actor is the
 * caller's key name, never a field of the body.
 */
@Controller('api/schedules')
export class SchedulesController {
  constructor(@Inject(STEPWISE_CLIENT) private readonly jobs: StepwiseClient) {}

  @Post()
  @Roles('operator')
  @Audited('schedule-create')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    summary: 'Create a schedule that starts a job by a cron expression or an interval',
    tags: ['schedules'],
    body: createScheduleBodySchema,
    bodyRequired: true,
    responses: { 201: { description: 'Created, with its next run times', schema: scheduleSchema } },
    errors: {
      400: 'Invalid body or input (issue paths point into it): an unknown or internal job type, a cron expression or time zone refused, an interval under 1 s, neither or both of cron and interval',
      409: 'A schedule with this id exists',
      413: 'Input over STEPWISE_MAX_INPUT_BYTES',
      503: UNAVAILABLE,
    },
  })
  create(
    @Body(new ZodPipe(createScheduleBodySchema)) body: CreateScheduleBody,
    @CurrentActor() actor: Actor,
  ): Promise<Schedule> {
    return this.jobs.createSchedule({ ...body, createdBy: actor.name });
  }

  @Get()
  @ApiOperation({
    summary: 'List schedules',
    tags: ['schedules'],
    query: listSchedulesQuerySchema,
    responses: { 200: { description: 'A page of schedules', schema: scheduleListSchema } },
    errors: { 400: 'Bad pageSize or pageToken, or an unknown parameter', 503: UNAVAILABLE },
  })
  list(
    @Query(new ZodPipe(listSchedulesQuerySchema, 'query')) query: ListSchedulesQuery,
  ): Promise<ScheduleList> {
    return this.jobs.listSchedules(query);
  }

  @Get(':scheduleId')
  @ApiOperation({
    summary: 'A schedule, with its next run times and latest runs',
    tags: ['schedules'],
    params: idParams,
    responses: { 200: { description: 'The schedule', schema: scheduleSchema } },
    errors: { 400: 'Malformed schedule id', 404: NOT_FOUND, 503: UNAVAILABLE },
  })
  get(@Param('scheduleId', IdPipe) scheduleId: string): Promise<Schedule> {
    return this.jobs.getSchedule(scheduleId);
  }

  @Patch(':scheduleId')
  @Roles('operator')
  @Audited('schedule-update')
  @ApiOperation({
    summary: 'Change a schedule’s timing, input or priority',
    tags: ['schedules'],
    params: idParams,
    body: updateScheduleBodySchema,
    bodyRequired: true,
    responses: { 200: { description: 'Changed', schema: scheduleSchema } },
    errors: { 400: 'Invalid body or input', 404: NOT_FOUND, 413: 'Input too large', 503: UNAVAILABLE },
  })
  update(
    @Param('scheduleId', IdPipe) scheduleId: string,
    @Body(new ZodPipe(updateScheduleBodySchema)) body: UpdateScheduleBody,
  ): Promise<Schedule> {
    return this.jobs.updateSchedule(scheduleId, body);
  }

  @Delete(':scheduleId')
  @Roles('operator')
  @Audited('schedule-delete')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Delete a schedule (its runs go on as ordinary jobs)',
    tags: ['schedules'],
    params: idParams,
    responses: { 204: { description: 'Deleted' } },
    errors: { 404: NOT_FOUND, 503: UNAVAILABLE },
  })
  async delete(@Param('scheduleId', IdPipe) scheduleId: string): Promise<void> {
    await this.jobs.deleteSchedule(scheduleId);
  }

  @Post(':scheduleId/pause')
  @Roles('operator')
  @Audited('schedule-pause')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Pause a schedule, with a note',
    tags: ['schedules'],
    params: idParams,
    body: scheduleNoteBodySchema,
    responses: { 200: { description: 'Paused', schema: scheduleSchema } },
    errors: { 400: 'Note too long', 404: NOT_FOUND, 503: UNAVAILABLE },
  })
  pause(
    @Param('scheduleId', IdPipe) scheduleId: string,
    @Body(new ZodPipe(scheduleNoteBodySchema)) body: ScheduleNoteBody,
    @CurrentActor() actor: Actor,
  ): Promise<Schedule> {
    return this.jobs.pauseSchedule(scheduleId, body.note ?? `Paused by ${actor.name}`);
  }

  @Post(':scheduleId/unpause')
  @Roles('operator')
  @Audited('schedule-unpause')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Unpause a schedule, with a note',
    tags: ['schedules'],
    params: idParams,
    body: scheduleNoteBodySchema,
    responses: { 200: { description: 'Unpaused', schema: scheduleSchema } },
    errors: { 400: 'Note too long', 404: NOT_FOUND, 503: UNAVAILABLE },
  })
  unpause(
    @Param('scheduleId', IdPipe) scheduleId: string,
    @Body(new ZodPipe(scheduleNoteBodySchema)) body: ScheduleNoteBody,
    @CurrentActor() actor: Actor,
  ): Promise<Schedule> {
    return this.jobs.unpauseSchedule(scheduleId, body.note ?? `Unpaused by ${actor.name}`);
  }

  @Post(':scheduleId/trigger')
  @Roles('operator')
  @Audited('schedule-trigger')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Start a run of a schedule now',
    tags: ['schedules'],
    params: idParams,
    body: triggerScheduleBodySchema,
    responses: {
      202: {
        description: 'Asked; the run shows in `recentRuns` once Temporal started it',
        schema: scheduleSchema,
      },
    },
    errors: { 404: NOT_FOUND, 503: UNAVAILABLE },
  })
  trigger(
    @Param('scheduleId', IdPipe) scheduleId: string,
    @Body(new ZodPipe(triggerScheduleBodySchema)) body: TriggerScheduleBody,
  ): Promise<Schedule> {
    return this.jobs.triggerSchedule(scheduleId, body.overlap);
  }

  @Post(':scheduleId/backfill')
  @Roles('operator')
  @Audited('schedule-backfill')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Run a schedule’s times in a past (or future) range now',
    tags: ['schedules'],
    params: idParams,
    body: backfillScheduleBodySchema,
    bodyRequired: true,
    responses: { 202: { description: 'Asked; the runs start a moment later', schema: scheduleSchema } },
    errors: {
      400: 'An empty range, over 31 days, or over 1,000 runs',
      404: NOT_FOUND,
      503: UNAVAILABLE,
    },
  })
  backfill(
    @Param('scheduleId', IdPipe) scheduleId: string,
    @Body(new ZodPipe(backfillScheduleBodySchema)) body: BackfillScheduleBody,
  ): Promise<Schedule> {
    return this.jobs.backfillSchedule(scheduleId, body);
  }
}
