/**
 * `raster-ingest approve <id>` and `raster-ingest reject <id>`: decide a job a quality gate of its
 * collection quarantined (docs/collections.md). Approving publishes the outputs it kept
 * unpublished; rejecting deletes them. `--watch` waits until the decision has run.
 */
import { Command } from 'commander';
import { parsePositiveInteger } from '../cli.args.js';
import { createClient, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { JobWaitTimeoutError } from '../jobs.client.js';

function decisionCommand(run: CliRun, decision: 'approve' | 'reject'): Command {
  return new Command(decision)
    .description(decision === 'approve' ? "Publish a quarantined job's kept outputs (admin role)" : "Delete a quarantined job's kept outputs (admin role)")
    .argument('<id>', 'the quarantined job')
    .option('--watch', 'wait until the decision has run')
    .option('--timeout <seconds>', 'with --watch: stop waiting after this long (exit code 6)')
    .action(async (id: string, options: { watch?: boolean; timeout?: string }, command: Command) => {
      const global = globalOptions(command, run);
      const client = createClient(run, global);
      const answer = await client.decideQuarantine(id, decision);
      let job;
      if (options.watch) {
        const timeoutMs = options.timeout === undefined ? Infinity : parsePositiveInteger(options.timeout, '--timeout') * 1000;
        const started = performance.now();
        for (;;) {
          job = await client.getJob(id);
          if (job.quarantine?.decision && ['Completed', 'Failed', 'Terminated'].includes(job.quarantine.decision.status)) break;
          if (performance.now() - started > timeoutMs) throw new JobWaitTimeoutError(answer.id, timeoutMs, { status: job.status, stage: job.stage });
          await new Promise((resolve) => setTimeout(resolve, run.environment.pollIntervalMs ?? 1000));
        }
      }
      if (global.json) return printJson(run, job ? { ...answer, job } : answer);
      const done = job?.quarantine?.decision;
      run.environment.out(done ? `Job ${id}: ${decision === 'approve' ? 'approved' : 'rejected'}; the job is ${job!.status} (${done.id}, ${done.status})` : `Job ${id}: ${decision === 'approve' ? 'approval' : 'rejection'} started (${answer.id}); follow it with raster-ingest job ${id}`);
    });
}

export function approveCommand(run: CliRun): Command {
  return decisionCommand(run, 'approve');
}

export function rejectCommand(run: CliRun): Command {
  return decisionCommand(run, 'reject');
}
