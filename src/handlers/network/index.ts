import { join } from 'node:path';
import type { HandlerPlugin } from '../types.js';
import { modify } from './modify.js';
import { list } from './list.js';
import { create, probe, remove } from './operations.js';
import { networkPlan } from './plan.js';
import { SERVICE_TYPES } from './service.js';
import { networkSettingsSchema, type NetworkSettings } from './settings.js';
import { validateNetworkEvent } from './validate.js';

/** Network services (L2 and L3) through the NSO controller, or the sim substrate. */
export const networkPlugin: HandlerPlugin<NetworkSettings> = {
  name: 'network',
  description: 'Network services (L2Bridge, L2PTP, L2STS, FABNet*, L3VPN, PortMirror): create, delete, modify, probe',
  resourceTypes: SERVICE_TYPES,
  settingsSchema: networkSettingsSchema,
  inventory: (s) => s.playbooks.inventory_location,
  // Keyed by the config path under `playbooks` (and `cleanup.ALL`), so `amh handlers` output maps back to the file.
  playbooks: (s) => ({
    ...Object.fromEntries(SERVICE_TYPES.map((type) => [type, join(s.playbooks.location, s.playbooks[type])])),
    'operation.delete': join(s.playbooks.location, s.playbooks.operation.delete),
    'operation.probe': join(s.playbooks.location, s.playbooks.operation.probe),
    'operation.list': join(s.playbooks.location, s.playbooks.operation.list),
    'cleanup.ALL': join(s.playbooks.location, s.cleanup.ALL),
    'cleanup.mark_failed': join(s.playbooks.location, s.cleanup.mark_failed),
  }),
  validate: validateNetworkEvent,
  create,
  delete: remove,
  modify,
  probe,
  plan: networkPlan,
  list,
};
