import { applyHeapPolicy } from '../lib/heap-policy.js';
import { kafkajsPatches } from '../kafka/client.js';
import { Service } from '../service.js';
import { cliLogger, loadCliConfig, type CommonOptions } from './common.js';

/** `amh run`: consume until SIGINT/SIGTERM; a second signal forces exit. */
export async function runCommand(opts: CommonOptions): Promise<void> {
  const config = loadCliConfig(opts);
  const logger = cliLogger(config.logging.level, config.logging.format);
  logger.info({ heap: applyHeapPolicy(config.runtime.heap_growing_percent) }, 'heap policy set (README "Memory")');
  for (const { name, patch, without } of kafkajsPatches) {
    if (patch.installed) logger.debug({ kafkajs: patch.version }, `kafkajs ${name} installed (README "Batched writes")`);
    else logger.warn({ reason: patch.reason }, `kafkajs ${name} not installed: ${without}`);
  }
  const service = new Service({ config, logger });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, 'signal received: shutting down gracefully');
    void service.stop().then(() => process.exit(0), (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A fatal condition (e.g. the dead-letter limit) stops the service; the exit status says it failed.
  service.events.on('fatal', () => {
    void service.stop().finally(() => process.exit(1));
  });
  await service.start();
}
