// The operator CLI (`edgefleet`) and the box's CLI (`edgefleet-agent`) run in the test's own process, for
// scenario tests that run commands against a hub or a data dir and are not about the programs' processes
// (exit glue, signals, piped output: test/src/cli/convention.test.ts runs the real programs for those).
// Each is the program's main() through runInProcess (examples/src/testkit/in-process.ts): a process start
// costs ~0.4-0.55 s of CPU, importing the hub library into a scenario test's process ~0.3 s once (on the
// first operator command: a file that only enrolls boxes does not pay it). Results are shaped as runCli's
// (code, stdout, stderr), so a test reads them the same way.
import { agentMain } from '@edgefleet/agent';
import { runInProcess, type InProcessOptions, type InProcessResult } from '@edgefleet/examples';
import { dispatch } from '@edgefleet/shared/cli';

/** `edgefleet ARGS` in this process; `o.env` is the command's whole environment (EDGEFLEET_HUB, EDGEFLEET_TOKEN). */
export async function operator(args: readonly string[], o: InProcessOptions = {}): Promise<InProcessResult> {
  const { operatorCli } = await import('@edgefleet/hub');
  return runInProcess((argv, ctx) => dispatch(operatorCli, argv, ctx), args, o);
}

/** `edgefleet-agent ARGS` in this process, with its exit code (runAgentCli in enroll.ts rejects on a non-zero one). */
export function agentCli(args: readonly string[], o: InProcessOptions = {}): Promise<InProcessResult> {
  return runInProcess(agentMain, args, o);
}
