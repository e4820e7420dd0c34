/** The gRPC statuses of Temporal errors the API answers without a 500. */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { temporalErrorToHttp } from '../../src/api/common/filters/temporal-errors';

/** A raw gRPC error as `workflowService` calls reject with. */
const grpcError = (code: number, message: string): Error =>
  Object.assign(new Error(message), { code, details: message });

describe('temporalErrorToHttp', () => {
  it.each([
    [GrpcStatus.UNAVAILABLE, 503],
    [GrpcStatus.DEADLINE_EXCEEDED, 503],
    [GrpcStatus.RESOURCE_EXHAUSTED, 503],
    [GrpcStatus.NOT_FOUND, 404],
  ])('gRPC status %i is HTTP %i', (code, status) => {
    expect(temporalErrorToHttp(grpcError(code, 'from Temporal'))?.statusCode).toBe(status);
  });

  it('says Temporal is busy when it sheds load', () => {
    expect(
      temporalErrorToHttp(grpcError(GrpcStatus.RESOURCE_EXHAUSTED, 'namespace rate limit exceeded')),
    ).toEqual({
      statusCode: 503,
      message: 'Temporal is busy: namespace rate limit exceeded',
    });
  });

  it('names a search attribute the namespace lacks (set up by an older Stepwise) and how to add it: 503', () => {
    // Temporal's words, as the dev server answers a start with an unregistered attribute.
    const answer = temporalErrorToHttp(
      grpcError(
        GrpcStatus.INVALID_ARGUMENT,
        'Namespace default has no mapping defined for search attribute JobStartedBy',
      ),
    );
    expect(answer?.statusCode).toBe(503);
    expect(answer?.message).toMatch(/no search attribute "JobStartedBy": run prepare-namespace/);
    expect(temporalErrorToHttp(grpcError(GrpcStatus.INVALID_ARGUMENT, 'something else'))).toBeUndefined();
  });

  it('leaves errors it does not know to the filter (500)', () => {
    expect(temporalErrorToHttp(grpcError(GrpcStatus.INTERNAL, 'boom'))).toBeUndefined();
    expect(temporalErrorToHttp(new Error('not from Temporal'))).toBeUndefined();
  });
});
