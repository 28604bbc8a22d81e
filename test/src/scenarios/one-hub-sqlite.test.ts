// One hub per SQLite data dir (one-hub-scenario.ts; docs/decisions/0074-one-hub-per-database.md).
import { oneHubScenario } from './one-hub-scenario.js';

oneHubScenario('sqlite');
