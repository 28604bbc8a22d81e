// Two hub processes on one SQLite file and one Mosquitto, the lease holder killed mid-rollout and
// mid-upload (two-hubs-scenario.ts; docs/hub.md "Several hubs").
import { twoHubsScenario } from './two-hubs-scenario.js';

twoHubsScenario('sqlite');
