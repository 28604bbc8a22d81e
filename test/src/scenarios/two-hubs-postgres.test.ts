// Two hub processes on one PostgreSQL database and one Mosquitto, the lease holder killed mid-rollout
// and mid-upload (two-hubs-scenario.ts; docs/hub.md "Several hubs", docs/decisions/0040-postgresql.md).
import { twoHubsScenario } from './two-hubs-scenario.js';

twoHubsScenario('postgres');
