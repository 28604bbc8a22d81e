// Routes the console needs beyond the others: the trust document the hub hands devices, so the
// console can check every model's release signatures itself (docs/console.md "Signatures").
import { TrustDocument } from '@edgefleet/shared';
import type { RouteDef } from './http.js';

export const consoleRoutes: RouteDef[] = [
  {
    method: 'get', path: '/trust', access: 'viewer', response: TrustDocument,
    summary: 'The signed trust document the hub gives devices (root, release and hub keys); the console verifies model signatures against it',
    async handler(_c, deps) {
      return deps.trust();
    },
  },
];
