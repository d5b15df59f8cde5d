#!/usr/bin/python
# -*- coding: utf-8 -*-
# Simulated testbed substrate for am-handlers. State is JSON files under
# state_dir (layout: playbooks/sim/README.md), guarded by the flock in
# module_utils/sim_store.py, so concurrent runs never race.
#
# Extending: write `def op_x(module, store, params) -> (changed, result)`,
# register it in OPS, add its arguments to ARGUMENT_SPEC. Raise SimError for
# refusals; its code is returned as `error_code` so handlers can map it.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sim_substrate
short_description: Simulated substrate (workers, VMs, management IPs) kept as JSON files
description: [See playbooks/sim/README.md in am-handlers.]
options:
  op: {description: Operation, required: true, type: str}
  state_dir: {description: Directory of the simulated state, required: true, type: path}
  step: {description: Playbook step name compared with fail_at (default the op), type: str}
  fail_at: {description: Fail with "injected failure at <step>" when it equals step, type: str}
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.sim_store import SimError, Store, check_name

VM_KIND = "vms"
PUBLIC_VM_KEYS = ("instance_name", "sliver_id", "name", "worker", "management_ip", "management_ip_version",
                  "state", "flavor", "image", "ssh_key_count", "created_at")


def public_vm(record):
    # ssh_keys stay in the state file (the simulated authorized_keys), not in task output.
    return dict((k, record[k]) for k in PUBLIC_VM_KEYS if k in record)


def instance_name(params):
    if params["instance_name"]:
        return check_name(params["instance_name"], "instance_name")
    if not params["sliver_id"] or not params["name"]:
        raise SimError("instance_name, or sliver_id and name, are required", "invalid_argument")
    return check_name("%s-%s" % (params["sliver_id"], params["name"]), "instance_name")


def flavor_of(params):
    flavor = dict((k, params[k]) for k in ("core", "ram", "disk"))
    for k, v in flavor.items():
        if v is None or v <= 0:
            raise SimError("flavor %s must be a positive integer, got %r" % (k, v), "invalid_argument")
    return flavor


def choose_worker(store, params, flavor):
    if params["worker"]:
        store.check_capacity(params["worker"], flavor)
        return params["worker"]
    # No placement given: the worker with the most free cores that fits.
    for name in sorted(store.workers(), key=lambda w: -store.free_capacity(w)["core"]):
        try:
            store.check_capacity(name, flavor)
            return name
        except SimError:
            pass
    raise SimError("no worker has capacity for %r" % (flavor,), "no_capacity")


def existing_vm(store, name, params):
    record = store.record(VM_KIND, name)
    if record is not None and params["sliver_id"] and record.get("sliver_id") != params["sliver_id"]:
        raise SimError("instance %s belongs to sliver %s" % (name, record.get("sliver_id")), "name_conflict")
    return record


def op_vm_validate(module, store, params):
    name = instance_name(params)
    flavor = flavor_of(params)
    record = existing_vm(store, name, params)
    worker = record["worker"] if record else choose_worker(store, params, flavor)
    return False, {"instance_name": name, "worker": worker, "exists": record is not None}


def op_vm_create(module, store, params):
    name = instance_name(params)
    record = existing_vm(store, name, params)
    if record is not None:
        return False, {"vm": public_vm(record)}
    flavor = flavor_of(params)
    worker = choose_worker(store, params, flavor)
    version = 6 if params["mgmt_ipv6"] else 4
    # IPAM first: if the run dies before the record is written, the same
    # instance gets the same address back on retry (allocation is per owner).
    address = store.allocate_ip("mgmt6" if version == 6 else "mgmt4", "vm/" + name)
    record = {
        "instance_name": name, "sliver_id": params["sliver_id"], "name": params["name"], "worker": worker,
        "flavor": flavor, "image": params["image"], "ssh_keys": params["ssh_keys"] or [],
        "ssh_key_count": len(params["ssh_keys"] or []), "management_ip": address,
        "management_ip_version": version, "state": "ACTIVE",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    store.put_record(VM_KIND, name, record)
    return True, {"vm": public_vm(record)}


def op_vm_get(module, store, params):
    record = store.record(VM_KIND, instance_name(params))
    return False, {"exists": record is not None, "vm": public_vm(record) if record else {}}


def op_vm_wait_ssh(module, store, params):
    # Simulated: the VM must exist and be ACTIVE; optionally take some time like a real boot.
    record = store.record(VM_KIND, instance_name(params))
    if record is None or record.get("state") != "ACTIVE":
        raise SimError("instance %s is not ACTIVE" % instance_name(params), "not_active")
    return False, {"vm": public_vm(record)}


def op_vm_delete(module, store, params):
    name = instance_name(params)
    record = store.record(VM_KIND, name)
    freed = store.release_ips("vm/" + name)
    if record is None:
        return bool(freed), {"existed": False, "released_ips": freed}
    store.drop_record(VM_KIND, name)
    return True, {"existed": True, "released_ips": freed, "vm": public_vm(record)}


OPS = {
    "vm_validate": op_vm_validate,
    "vm_create": op_vm_create,
    "vm_get": op_vm_get,
    "vm_wait_ssh": op_vm_wait_ssh,
    "vm_delete": op_vm_delete,
}

ARGUMENT_SPEC = dict(
    op=dict(type="str", required=True, choices=sorted(OPS)),
    state_dir=dict(type="path", required=True),
    step=dict(type="str"),
    fail_at=dict(type="str", default=""),
    delay=dict(type="float", default=0),
    instance_name=dict(type="str", aliases=["instance"]),
    name=dict(type="str"),
    sliver_id=dict(type="str"),
    worker=dict(type="str"),
    core=dict(type="int"),
    ram=dict(type="int"),
    disk=dict(type="int"),
    image=dict(type="str"),
    ssh_keys=dict(type="list", elements="str", default=[]),
    mgmt_ipv6=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    step = params["step"] or params["op"]
    if params["fail_at"] and params["fail_at"] == step:
        module.fail_json(msg="injected failure at %s" % step, step=step, error_code="injected")
    if params["delay"] > 0:
        # Outside the lock: a slow simulated step must not stall other runs.
        time.sleep(params["delay"])
    try:
        with Store(params["state_dir"], check_mode=module.check_mode) as store:
            changed, result = OPS[params["op"]](module, store, params)
    except SimError as exc:
        module.fail_json(msg=exc.msg, step=step, error_code=exc.code, **exc.details)
    module.exit_json(changed=changed, step=step, **result)


if __name__ == "__main__":
    main()
