import { replay } from '../replay.js';
import { cliLogger, loadCliConfig, type CommonOptions } from './common.js';

export interface ReplayCliOptions extends CommonOptions {
  from: string;
  to?: string;
  dryRun?: boolean;
}

/** `amh replay --from X [--to Y] [--dry-run]`: one JSON line per event, then a summary line. */
export async function replayCommand(opts: ReplayCliOptions): Promise<void> {
  const config = loadCliConfig(opts);
  const logger = cliLogger(config.logging.level === 'info' ? 'warn' : config.logging.level, config.logging.format);
  const summary = await replay(
    { config, logger },
    { from: opts.from, ...(opts.to ? { to: opts.to } : {}), dryRun: opts.dryRun ?? false },
    (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
  );
  process.stdout.write(`${JSON.stringify({ summary })}\n`);
}
