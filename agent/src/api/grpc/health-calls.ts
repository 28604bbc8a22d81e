// gRPC's liveness and readiness calls beside the call gate (docs/agent.md "Local API", "Limits"). They
// were counted among api.grpc.maxCalls, so a box busy with 16 slow ModelInfer calls answered a liveness
// probe UNAVAILABLE and a supervisor restarted a box that was only serving; REST's /v2/health/live was
// answered. Now ServerLive and ServerReady pass the call gate and the request byte budget, as REST's
// health GETs do, under bounds of their own: HEALTH_MAX_CALLS in progress at once, and a message of at
// most HEALTH_MAX_MESSAGE_BYTES (their requests are empty messages; grpc-js would read up to
// api.maxBodyBytes of any method's message), refused from its length prefix before it is read; a
// compressed one's bytes and what they inflate to are held to it together, as api.maxBodyBytes holds
// other messages (./encoding.ts; before, a gzip health message inflated to api.maxBodyBytes).
import { AppError } from '@edgefleet/shared/core';
import { bodyTooLarge } from '../guards.js';

const SERVICE = '/inference.GRPCInferenceService/';
export const HEALTH_METHODS: ReadonlySet<string> = new Set([`${SERVICE}ServerLive`, `${SERVICE}ServerReady`]);
export const HEALTH_MAX_CALLS = 8;
export const HEALTH_MAX_MESSAGE_BYTES = 1024;

/**
 * Has grpc-js's base call (1.14: its stream decoder's `maxReadMessageLength`, and `maxReceiveMessageSize`
 * for an inflated message) refuse a health call's message over HEALTH_MAX_MESSAGE_BYTES. A grpc-js
 * without them (internals change) reads it up to api.maxBodyBytes: bounded still, never a broken call.
 */
export function limitHealthMessage(call: object): void {
  const base = call as { decoder?: { maxReadMessageLength?: unknown }; maxReceiveMessageSize?: unknown };
  if (base.decoder && typeof base.decoder.maxReadMessageLength === 'number') base.decoder.maxReadMessageLength = HEALTH_MAX_MESSAGE_BYTES;
  if (typeof base.maxReceiveMessageSize === 'number') base.maxReceiveMessageSize = HEALTH_MAX_MESSAGE_BYTES;
}

/** A health call's message over its bound. */
export function healthTooLarge(path: string, bytes: number): AppError {
  return bodyTooLarge(HEALTH_MAX_MESSAGE_BYTES, healthBound(path), bytes);
}

/** What a refusal of a health call's message names as its bound. */
export function healthBound(path: string): string {
  return `${path.slice(SERVICE.length)}Request is an empty message`;
}

export function healthOverloaded(inProgress: number): AppError {
  return new AppError('OVERLOADED', `the agent has ${inProgress} ServerLive and ServerReady calls in progress (limit ${HEALTH_MAX_CALLS}, apart from api.grpc.maxCalls); retry later`);
}
