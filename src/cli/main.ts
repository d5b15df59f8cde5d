#!/usr/bin/env node
import { Command, Option } from 'commander';
import { auditCommand } from './audit.js';
import { fail, parsePositiveInt } from './common.js';
import { doctorCommand } from './doctor.js';
import { handlersCommand } from './handlers.js';
import { planCommand } from './plan.js';
import { replayCommand } from './replay.js';
import { runCommand } from './run.js';
import { sendCommand } from './send.js';
import { tailCommand } from './tail.js';
import { topicsCreateCommand } from './topics.js';

const program = new Command('amh')
  .description('am-handlers: provisions testbed slivers from Avro events on Kafka by running Ansible playbooks')
  .showHelpAfterError();

const common = (cmd: Command): Command =>
  cmd
    .option('-c, --config <file>', 'configuration file (default: env AMH_CONFIG, then config/amh.yaml)')
    .option('-b, --brokers <list>', 'Kafka bootstrap servers, comma-separated (overrides config and AMH_KAFKA_BROKERS)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']));

common(program.command('run'))
  .description('consume sliver events and provision them (the main job); SIGINT/SIGTERM stop it gracefully')
  .option('-g, --group <id>', 'consumer group id (overrides kafka.group_id)')
  .action((opts) => runCommand(opts).catch(fail));

common(program.command('send'))
  .description('publish events from a YAML/JSON file exactly as the AM would (single-object Avro, keyed by sliver_id)')
  .argument('<file>', 'one event, a list of events, or several YAML documents')
  .option('-t, --topic <topic>', 'topic (default: kafka.topics.events)')
  .option('--sliver <id>', 'override sliver_id of every event')
  .option('--sequence <n>', 'override sequence of every event', parsePositiveInt)
  .option('--schema-version <n>', 'write with an older event schema version', parsePositiveInt)
  .action((file, opts) => sendCommand(file, opts).catch(fail));

common(program.command('plan'))
  .description(
    'dry run: the playbooks each event of the file would run, in order, with their variables (secrets redacted), and whether what it would claim is free; changes nothing. Exit 1 when an event is REJECTED, 2 when it would fail',
  )
  .argument('<file>', 'events as `amh send` reads them')
  .option('--json', 'print JSON instead of text')
  .action((file, opts) => planCommand(file, opts).catch(fail));

common(program.command('tail'))
  .description('decode the reply topic and print one JSON object per line; --follow shows live progress and results')
  .option('-t, --topic <topic>', 'topic (default: kafka.topics.replies)')
  .option('--dead-letters', 'print the dead-letter topic instead (headers and base64 value)')
  .option('-f, --follow', 'follow running operations: one live line per in-flight sliver (a progress bar on a terminal, appended lines otherwise) and their results; needs kafka.topics.progress')
  .option('--from-beginning', 'start at the earliest offset instead of new records only')
  .option('-n, --count <n>', 'exit after printing n records', parsePositiveInt)
  .option('--timeout <seconds>', 'exit with status 2 if the count is not reached in time', parsePositiveInt)
  .option('--event-id <id...>', 'only results for these event ids')
  .option('--sliver <id>', 'only results for this sliver')
  .action((opts) => tailCommand(opts).catch(fail));

common(program.command('replay'))
  .description(
    're-read a range of the events topic safely: answered events get their stored result re-published, stale ones STALE, only new ones run',
  )
  .requiredOption('--from <when>', "start: ISO time (2026-11-23T10:00:00Z), an offset, or 'earliest'")
  .option('--to <when>', "end (exclusive): ISO time, an offset, or 'latest' (default)")
  .option('--dry-run', 'print what each event would get, publish and run nothing')
  .action((opts) => replayCommand(opts).catch(fail));

common(program.command('handlers'))
  .description('list each resource type with its handler, the operations it supports and its playbooks (missing ones marked)')
  .option('--json', 'print JSON instead of text')
  .option('--strict', 'exit with status 1 when a playbook is missing on disk')
  .action((opts) => handlersCommand(opts).catch(fail));

common(program.command('audit'))
  .description(
    'one audit now over every partition: lists each handler\'s substrate and prints what no ledger owns (orphans) and drift; exit 0 clean, 1 found, 2 incomplete or failed',
  )
  .option('--json', 'print JSON instead of a table')
  .action((opts) => auditCommand(opts));

common(program.command('doctor'))
  .description('check config, schemas, playbooks, ansible-playbook and its collections, the broker and the topics; exit 1 on any failure')
  .option('--json', 'print JSON instead of text')
  .option('--timeout <seconds>', 'how long the broker checks may take', parsePositiveInt, 10)
  .action((opts) => doctorCommand(opts).catch(fail));

const topics = program.command('topics').description('manage the Kafka topics of the configuration');
common(topics.command('create'))
  .description('create the events, replies, dead-letter and (compacted, co-partitioned) state topics as amh doctor expects; existing ones are checked')
  .action((opts) => topicsCreateCommand(opts).catch(fail));

program.parseAsync().catch(fail);
