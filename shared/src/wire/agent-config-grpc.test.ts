// gRPC messages grpc-js may hold at once (api.grpc.maxCalls × api.maxBodyBytes) are bounded by a stated
// multiple of api.maxInflightBodyBytes when gRPC is on (agent-settings.ts GRPC_BUFFER_FACTOR): the schema
// refuses more on api.grpc.maxCalls, naming the three fields; the defaults hold it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_GRPC_MAX_CALLS, GRPC_BUFFER_FACTOR, grpcBufferProblem } from '../agent-settings.js';
import { AgentConfig } from './agent-config.js';

const MiB = 1024 * 1024;

it('defaults to 16 gRPC calls, at the bound with the default body limits', () => {
  const c = AgentConfig.parse({ dataDir: '/d', api: { grpc: { enabled: true } } });
  assert.equal(c.api.grpc.maxCalls, DEFAULT_GRPC_MAX_CALLS);
  assert.equal(DEFAULT_GRPC_MAX_CALLS, 16);
  assert.ok(c.api.grpc.maxCalls * c.api.maxBodyBytes <= GRPC_BUFFER_FACTOR * c.api.maxInflightBodyBytes);
});

it('refuses, with gRPC on, maxCalls × maxBodyBytes past the multiple of maxInflightBodyBytes, naming the fields', () => {
  const limit = (GRPC_BUFFER_FACTOR * 64) / 16; // 16 calls of 16 MiB at 64 MiB in flight
  assert.equal(AgentConfig.safeParse({ dataDir: '/d', api: { grpc: { enabled: true, maxCalls: limit } } }).success, true, 'the bound itself');
  const r = AgentConfig.safeParse({ dataDir: '/d', api: { grpc: { enabled: true, maxCalls: limit + 1 } } });
  assert.equal(r.success, false);
  const issue = r.error!.issues[0]!;
  assert.deepEqual(issue.path, ['api', 'grpc', 'maxCalls']);
  assert.match(issue.message, /api\.grpc\.maxCalls × api\.maxBodyBytes is 17 × 16 MiB = 272 MiB .* expected at most 4 × api\.maxInflightBodyBytes = 256 MiB: lower api\.grpc\.maxCalls \(at most 16 here\) or api\.maxBodyBytes, or raise api\.maxInflightBodyBytes/);
  // The same calls with a smaller body limit or a larger budget fit.
  assert.equal(AgentConfig.safeParse({ dataDir: '/d', api: { maxBodyBytes: MiB, grpc: { enabled: true, maxCalls: 256 } } }).success, true);
  assert.equal(AgentConfig.safeParse({ dataDir: '/d', api: { maxInflightBodyBytes: 68 * MiB, grpc: { enabled: true, maxCalls: limit + 1 } } }).success, true);
});

it('does not bound gRPC settings while gRPC is off', () => {
  assert.equal(grpcBufferProblem({ maxBodyBytes: 128 * MiB, maxInflightBodyBytes: 64 * MiB, grpc: { enabled: false, maxCalls: 256 } }), undefined);
  assert.equal(AgentConfig.safeParse({ dataDir: '/d', api: { maxBodyBytes: 128 * MiB, maxInflightBodyBytes: 128 * MiB, grpc: { maxCalls: 256 } } }).success, true);
});
