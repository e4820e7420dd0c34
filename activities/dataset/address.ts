/** The address policy downloads share with webhook deliveries: it lives in the framework now. */
export * from '../../src/activity/address';
