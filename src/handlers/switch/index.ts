import { join } from 'node:path';
import type { HandlerPlugin } from '../types.js';
import { create, probe, remove } from './operations.js';
import { switchPlan } from './plan.js';
import { list } from './list.js';
import { switchSettingsSchema, type SwitchSettings } from './settings.js';
import { validateSwitchEvent } from './validate.js';

/** P4 switches: a Switch sliver takes a whole switch, configured over SSH (or the sim substrate). */
export const switchPlugin: HandlerPlugin<SwitchSettings> = {
  name: 'switch',
  description: 'P4 switches: create, delete, probe (no modify, as in the reference)',
  resourceTypes: ['Switch'],
  settingsSchema: switchSettingsSchema,
  inventory: (s) => s.playbooks.inventory_location,
  playbooks: (s) => ({
    Switch: join(s.playbooks.location, s.playbooks.Switch),
    'operation.delete': join(s.playbooks.location, s.playbooks.operation.delete),
    'operation.probe': join(s.playbooks.location, s.playbooks.operation.probe),
    'operation.list': join(s.playbooks.location, s.playbooks.operation.list),
    'cleanup.ALL': join(s.playbooks.location, s.cleanup.ALL),
  }),
  validate: validateSwitchEvent,
  create,
  delete: remove,
  probe,
  plan: switchPlan,
  list,
};
