// Labels are answered `counted` once they are saved (docs/decisions/0122-labels-saved-before-counted.md):
// a label is an app's one copy of the truth, and after a kill -9 the prediction it was for is forgotten,
// so it could not be sent again. Saving is the summary recorder's checkpoint of its open windows
// (docs/agent-summaries.md "Crashes"); the feedback requests that arrive within `ms` share one, so a
// flood of one-label requests costs one write per `ms`, not one each.

/** How long a feedback request waits for others to share its save (ms). */
export const SAVE_GROUP_MS = 20;

/** A function resolving once `save` ran after the call; calls within `ms` of the first share one run. */
export function groupedSave(save: () => void, ms = SAVE_GROUP_MS): () => Promise<void> {
  let waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  let timer: NodeJS.Timeout | null = null;
  const run = () => {
    timer = null;
    const now = waiting;
    waiting = [];
    try {
      save();
    } catch (err) {
      for (const w of now) w.reject(err);
      return;
    }
    for (const w of now) w.resolve();
  };
  return () => new Promise<void>((resolve, reject) => {
    waiting.push({ resolve, reject });
    timer ??= setTimeout(run, ms);
  });
}
