// The kill tests' hook: EDGEFLEET_TEST_PAUSE_AT names a point where the agent stops, prints a marker
// and waits to be killed, so a SIGKILL lands exactly there (install/manager.ts, sync/downloader.ts, sync/download-files.ts).

/** Test hook: EDGEFLEET_TEST_PAUSE_AT names a point where the process stops (for SIGKILL tests). */
export type PausePoint = 'install:before-rename' | 'install:before-commit' | 'install:after-commit'
  // A switch's new version loaded and warm, before its gate and commit (install/manager.ts activate()).
  | 'activate:loaded'
  // Hub downloads (sync/downloader.ts): after half the blocks are committed; between the verified last block and the rename (sync/download-files.ts).
  | 'download:mid' | 'download:before-rename';
export type Pause = (point: PausePoint) => Promise<void>;

/** The pause hook from EDGEFLEET_TEST_PAUSE_AT: prints a marker and never resolves (the test kills the process). */
export function pauseFromEnv(env: NodeJS.ProcessEnv): Pause | undefined {
  const want = env.EDGEFLEET_TEST_PAUSE_AT;
  if (!want) return undefined;
  return (point) => {
    if (point !== want) return Promise.resolve();
    process.stderr.write(`EDGEFLEET_PAUSED ${point}\n`);
    return new Promise<void>(() => {
      setInterval(() => undefined, 60_000);
    });
  };
}
