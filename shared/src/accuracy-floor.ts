// Labels an `accuracy` reading needs in its window; fewer give no value (docs/drift.md "Accuracy").
// Plain (no zod): the alerts' schema and the console's accuracy panel read the same floor.
export const MIN_ACCURACY_LABELS = 50;
