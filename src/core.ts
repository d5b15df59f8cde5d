import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ISocketFactory, Kafka } from 'kafkajs';
import { createPlaybookRunner, locateAnsiblePlaybook } from './ansible/index.js';
import type { PlaybookRunner } from './ansible/types.js';
import { AvroCodec, HttpSchemaRegistry, SchemaCatalog } from './codec/index.js';
import type { ResolvedConfig } from './config/index.js';
import { Executor } from './dispatch/executor.js';
import { BUILTIN_PLUGINS, HandlerRegistry, type AnyHandlerPlugin } from './handlers/index.js';
import { createKafka } from './kafka/client.js';
import type { Logger } from './observability/logger.js';
import { repoRoot } from './paths.js';

export interface CoreDeps {
  config: ResolvedConfig;
  logger: Logger;
  /** Default: ansible-playbook located as configured. Tests may pass a fake. */
  runner?: PlaybookRunner;
  plugins?: readonly AnyHandlerPlugin[];
  catalog?: SchemaCatalog;
  /** Default: `<host>-<pid>-<random>`; names this process in in-flight marks and its Kafka client id. */
  instanceId?: string;
  /** Default: kafkajs' own. Tests route broker connections through a fault proxy with it (test/helpers/fault-proxy.ts). */
  socketFactory?: ISocketFactory;
}

/** What `amh run` and `amh replay` both need, built (and validated) before any connection. */
export interface Core {
  instanceId: string;
  registry: HandlerRegistry;
  codec: AvroCodec;
  runner: PlaybookRunner;
  executor: Executor;
  kafka: Kafka;
  workDir: string;
}

export function createCore(deps: CoreDeps): Core {
  const { config, logger } = deps;
  const instanceId = deps.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const registry = HandlerRegistry.fromConfig(config, deps.plugins ?? BUILTIN_PLUGINS);
  const registryUrl = config.kafka.schema_registry.url;
  const codec = new AvroCodec(deps.catalog ?? SchemaCatalog.load(), registryUrl ? new HttpSchemaRegistry(registryUrl) : undefined);
  const workDir = config.resolvePath(config.runtime.work_dir);
  const runner =
    deps.runner ??
    createPlaybookRunner({
      ansiblePlaybook: config.runtime.ansible_playbook ?? locateAnsiblePlaybook(repoRoot()),
      workDir,
      keepRunDirs: config.runtime.keep_run_dirs,
      defaultKillGraceMs: config.runtime.kill_grace,
      logger,
    });
  const executor = new Executor({ registry, runner, killGraceMs: config.runtime.kill_grace });
  // The instance id ends the client id, so broker-side logs and group listings name the process.
  const kafka = createKafka(config.kafka, {
    clientId: `${config.kafka.client_id}/${instanceId}`,
    logger,
    ...(deps.socketFactory ? { socketFactory: deps.socketFactory } : {}),
  });
  return { instanceId, registry, codec, runner, executor, kafka, workDir };
}
