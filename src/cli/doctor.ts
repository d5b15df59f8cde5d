import { formatReport, passed, runDoctor } from '../doctor/doctor.js';
import { loadCliConfig, type CommonOptions } from './common.js';

export interface DoctorCliOptions extends CommonOptions {
  json?: boolean;
  timeout?: number;
}

/**
 * `amh doctor`: one pass/fail line per check, exit status 1 when any fails. A config that does not load is the
 * first failed check (not exit status 78), so the other lines are still printed.
 */
export async function doctorCommand(opts: DoctorCliOptions): Promise<void> {
  const results = await runDoctor(() => loadCliConfig(opts), { brokerTimeoutMs: (opts.timeout ?? 10) * 1000 });
  const ok = passed(results);
  process.stdout.write(opts.json ? `${JSON.stringify({ ok, checks: results }, null, 2)}\n` : formatReport(results));
  // A kafkajs client may still be retrying an unreachable broker in the background: the answer is complete.
  process.exit(ok ? 0 : 1);
}
