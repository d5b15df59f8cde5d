#!/usr/bin/python
# -*- coding: utf-8 -*-
# Simulated testbed substrate for am-handlers: workers with cores, RAM,
# NUMA nodes and PCI devices; VMs, passthrough attachments, volumes, NIC
# configuration, mounts. State is JSON files under state_dir (layout:
# playbooks/sim/README.md), guarded by the flock in module_utils/sim_store.py,
# so concurrent runs never race.
#
# The ops live in module_utils/sim_{vm,components,guest,poa}.py. Extending:
# write `def op_x(module, store, params) -> (changed, result)` there, add it
# to that file's OPS and its arguments to ARGUMENT_SPEC below. Raise SimError
# for refusals; its code is returned as `error_code` and its `retriable` flag
# as `retriable`, so handlers and retry policies can tell them apart.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sim_substrate
short_description: Simulated substrate (workers, VMs, PCI devices, volumes) kept as JSON files
description: [See playbooks/sim/README.md in am-handlers.]
options:
  op: {description: Operation, required: true, type: str}
  state_dir: {description: Directory of the simulated state, required: true, type: path}
  step: {description: Playbook step name compared with fail_at (default the op), type: str}
  fail_at: {description: 'Fail at this step, or at "<step>:<component>"', type: str}
  fail_mode: {description: '"transient" fails only the first fail_count attempts (retriable); else every attempt', type: str}
  fail_count: {description: Attempts that fail in transient mode (default 1), type: int}
  delay: {description: Seconds to sleep before the op (outside the lock), type: float}
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.sim_store import SimError, Store, injected_failure
from ansible.module_utils import sim_components, sim_guest, sim_poa, sim_vm

OPS = {}
for _ops in (sim_vm.OPS, sim_components.OPS, sim_guest.OPS, sim_poa.OPS):
    OPS.update(_ops)

ARGUMENT_SPEC = dict(
    op=dict(type="str", required=True, choices=sorted(OPS)),
    state_dir=dict(type="path", required=True),
    step=dict(type="str"),
    fail_at=dict(type="str", default=""),
    fail_mode=dict(type="str", default="permanent"),
    fail_count=dict(type="int", default=1),
    delay=dict(type="float", default=0),
    instance_name=dict(type="str", aliases=["instance"]),
    name=dict(type="str"),
    sliver_id=dict(type="str"),
    worker=dict(type="str"),
    core=dict(type="int"),
    ram=dict(type="int"),
    disk=dict(type="int"),
    image=dict(type="str"),
    ssh_keys=dict(type="list", elements="str", default=[], no_log=False),
    key_state=dict(type="str", default="present", choices=["present", "absent"]),
    mgmt_ipv6=dict(type="bool", default=False),
    management_ip=dict(type="str"),
    component=dict(type="dict"),
    volume_name=dict(type="str"),
    poa_operation=dict(type="str"),
    vcpu_cpu_map=dict(type="list", elements="dict", default=[]),
    node_set=dict(type="list", elements="str", default=[]),
    bdfs=dict(type="list", elements="str", default=[]),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    step = params["step"] or params["op"]
    target = (params["component"] or {}).get("name")
    if params["delay"] > 0:
        # Outside the lock: a slow simulated step must not stall other runs.
        time.sleep(params["delay"])
    try:
        with Store(params["state_dir"], check_mode=module.check_mode) as store:
            injected = injected_failure(store, params, step, target)
            if injected is not None:
                raise injected
            changed, result = OPS[params["op"]](module, store, params)
    except SimError as exc:
        details = dict(exc.details, retriable=exc.retriable)
        module.fail_json(msg=exc.msg, step=step, error_code=exc.code, **details)
    module.exit_json(changed=changed, step=step, **result)


if __name__ == "__main__":
    main()
