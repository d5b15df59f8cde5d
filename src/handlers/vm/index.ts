import type { HandlerPlugin } from '../types.js';
import { create } from './create.js';
import { remove } from './delete.js';
import { modify } from './modify.js';
import { list } from './list.js';
import { poa } from './poa.js';
import { probe } from './probe.js';
import { vmPlan } from './plan.js';
import { allPlaybooks, vmSettingsSchema, type VmSettings } from './settings.js';
import { validateVmEvent } from './validate.js';

/**
 * Virtual machines with PCI components (GPU, SmartNIC, SharedNIC, FPGA,
 * NVME) and volumes (Storage), at parity with the reference's VM handler.
 * Each operation is a sequence of playbook steps (one file per operation
 * here); the playbooks come from `playbooks.location` (sim or production).
 */
export const vmPlugin: HandlerPlugin<VmSettings> = {
  name: 'vm',
  description: 'Virtual machines with PCI passthrough components and volumes, through Ansible playbooks',
  resourceTypes: ['VM'],
  settingsSchema: vmSettingsSchema,
  inventory: (s) => s.playbooks.inventory_location,
  playbooks: allPlaybooks,
  validate: validateVmEvent,
  create,
  delete: remove,
  modify,
  probe,
  poa,
  plan: vmPlan,
  list,
};
