/** Nest injection tokens for the non-class providers. */
export const TEMPORAL_CLIENT = Symbol('TEMPORAL_CLIENT');
export const APP_CONFIG = Symbol('APP_CONFIG');
