import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { basename, dirname } from 'node:path';
import { hostname } from 'node:os';
import type { ISocketFactory, Kafka } from 'kafkajs';
import { createPlaybookRunner, locateAnsiblePlaybook, WarmPool } from './ansible/index.js';
import type { PlaybookRunner, PlaybookRunResult } from './ansible/types.js';
import { AvroCodec, HttpSchemaRegistry, SchemaCatalog } from './codec/index.js';
import type { ResolvedConfig } from './config/index.js';
import { Executor } from './dispatch/executor.js';
import { BUILTIN_PLUGINS, HandlerRegistry, type AnyHandlerPlugin } from './handlers/index.js';
import { createKafkaFor, kafkaConnection, type KafkaConnection } from './kafka/client.js';
import type { Logger } from './observability/logger.js';
import { playbooksDir, repoRoot } from './paths.js';

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
  /**
   * How `kafka` reaches the brokers, for a child process to connect the same way (the ledger restore child);
   * null when a test's socket factory routes the connections, which a child process cannot share.
   */
  kafkaConnection: KafkaConnection | null;
  workDir: string;
  /**
   * The warm runner's zygotes, when `runtime.warm_runner.enabled` or a handler's `warm_runner` asks for them (and the
   * runner is ours); null otherwise. The service starts and stops it.
   */
  warmPool: WarmPool | null;
  /** Why playbooks cannot run now (ansible-playbook gone, work directory not writable), or null. */
  runnerProblem(): string | null;
}

/** Hooks of the service into what the core builds. */
export interface CoreHooks {
  /** Every playbook run, when it ended (metrics). */
  onPlaybookRun?: (run: { playbook: string; outcome: PlaybookRunResult['outcome']; exitCode: number | null; durationMs: number; via?: 'spawn' | 'warm' }) => void;
}

export function createCore(deps: CoreDeps, hooks: CoreHooks = {}): Core {
  const { config, logger } = deps;
  const instanceId = deps.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const registry = HandlerRegistry.fromConfig(config, deps.plugins ?? BUILTIN_PLUGINS);
  const registryUrl = config.kafka.schema_registry.url;
  const codec = new AvroCodec(deps.catalog ?? SchemaCatalog.load(), registryUrl ? new HttpSchemaRegistry(registryUrl) : undefined);
  const workDir = config.resolvePath(config.runtime.work_dir);
  const ansiblePlaybook = deps.runner ? null : (config.runtime.ansible_playbook ?? locateAnsiblePlaybook(repoRoot()));
  const warm = config.runtime.warm_runner;
  const wantsWarm = warm.enabled || Object.values(config.handlers).some((h) => h.warm_runner === true);
  const warmPool =
    ansiblePlaybook !== null && wantsWarm
      ? new WarmPool({
          ansiblePlaybook,
          workDir,
          size: warm.pool_size,
          playbooksDir: playbooksDir(),
          restartBackoffMs: warm.restart_backoff,
          restartBackoffMaxMs: warm.restart_backoff_max,
          forkTimeoutMs: warm.fork_timeout,
          logger: logger.child({ component: 'warm-runner' }),
        })
      : null;
  const base =
    deps.runner ??
    createPlaybookRunner({
      ansiblePlaybook: ansiblePlaybook as string,
      workDir,
      keepRunDirs: config.runtime.keep_run_dirs,
      defaultKillGraceMs: config.runtime.kill_grace,
      logger,
      ...(warmPool ? { warm: { pool: warmPool, default: warm.enabled } } : {}),
    });
  const { onPlaybookRun } = hooks;
  const runner: PlaybookRunner = onPlaybookRun
    ? async (request) => {
        const result = await base(request);
        onPlaybookRun({
          playbook: basename(result.playbook),
          outcome: result.outcome,
          exitCode: result.exitCode,
          durationMs: result.durationMs,
          ...(result.via ? { via: result.via } : {}),
        });
        return result;
      }
    : base;
  const executor = new Executor({ registry, runner, killGraceMs: config.runtime.kill_grace });
  // The instance id ends the client id, so broker-side logs and group listings name the process.
  const connection = kafkaConnection(config.kafka, `${config.kafka.client_id}/${instanceId}`);
  const kafka = createKafkaFor(connection, { logger, ...(deps.socketFactory ? { socketFactory: deps.socketFactory } : {}) });
  const runnerProblem = (): string | null => {
    if (ansiblePlaybook === null) return null; // a runner given by the caller
    if (!usable(ansiblePlaybook, constants.X_OK)) return `${ansiblePlaybook} is not an executable file`;
    if (!usable(workDir, constants.W_OK) && !usable(dirname(workDir), constants.W_OK)) return `runtime.work_dir ${workDir} is not writable`;
    return null;
  };
  // A child process cannot share a test's socket factory: with one, restores stay in this process.
  return { instanceId, registry, codec, runner, executor, kafka, kafkaConnection: deps.socketFactory ? null : connection, workDir, warmPool, runnerProblem };
}

function usable(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}
