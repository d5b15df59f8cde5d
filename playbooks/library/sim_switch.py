#!/usr/bin/python
# -*- coding: utf-8 -*-
# Simulated P4 switches for am-handlers: a Switch sliver takes a whole P4
# switch of the sim inventory (one sliver per switch), gets a management
# address, the slice's SSH keys and its ports brought up. State layout and
# semantics: playbooks/sim/README.md.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sim_switch
short_description: Simulated P4 switches kept as JSON files
description: [See playbooks/sim/README.md in am-handlers.]
options:
  op: {description: validate, claim, configure, release, probe or list, required: true, type: str}
  state_dir: {description: Directory of the simulated state, required: true, type: path}
  switch: {description: The sliver (instance_name, sliver_id, device, ports, ssh_keys, mgmt_ipv6), required: true, type: dict}
  step: {description: Playbook step name compared with fail_at (default the op), type: str}
  fail_at: {description: Fail with "injected failure at <step>" when it equals step, type: str}
  delay: {description: Seconds to sleep first (simulated device latency), type: float}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.sim_netstore import now, run_module
from ansible.module_utils.sim_store import SimError, check_name

KIND = "p4switches"
PUBLIC_KEYS = ("instance_name", "sliver_id", "name", "device", "site", "management_ip", "management_ip_version",
               "ports", "state", "ssh_key_count", "created_at", "configured_at")


def spec_of(params):
    spec = params["switch"] or {}
    for key in ("instance_name", "sliver_id", "device"):
        if not spec.get(key):
            raise SimError("switch.%s is required" % key, "invalid_argument")
    check_name(spec["instance_name"], "instance_name")
    return spec


def public(record):
    # ssh_keys stay in the state file (the simulated authorized_keys), not in task output.
    return dict((k, record[k]) for k in PUBLIC_KEYS if k in record)


def existing(store, spec):
    record = store.store.record(KIND, spec["instance_name"])
    if record is not None and record.get("sliver_id") != spec["sliver_id"]:
        raise SimError("instance %s belongs to sliver %s" % (spec["instance_name"], record.get("sliver_id")), "name_conflict")
    return record


def check_available(store, spec):
    """The switch exists, has the ports asked for, and no other sliver holds it."""
    device = store.device(spec["device"], ("p4",))
    ports = []
    for p in spec.get("ports") or []:
        if p.get("port") not in device["ports"]:
            raise SimError("P4 switch %s has no port %r" % (spec["device"], p.get("port")), "unknown_port")
        ports.append(dict((k, p.get(k)) for k in ("name", "port", "vlan", "mac")))
    for other in store.store.records(KIND):
        if other.get("device") == spec["device"] and other.get("sliver_id") != spec["sliver_id"]:
            raise SimError("P4 switch %s is in use by %s (sliver %s)" % (spec["device"], other["instance_name"], other["sliver_id"]),
                           "switch_busy", holder=other["instance_name"])
    return device, ports


def op_validate(module, store, params):
    spec = spec_of(params)
    record = existing(store, spec)
    if record is None:
        check_available(store, spec)
    return False, {"exists": record is not None}


def op_claim(module, store, params):
    spec = spec_of(params)
    record = existing(store, spec)
    if record is not None:
        return False, {"switch": public(record)}  # redelivered create
    device, ports = check_available(store, spec)
    version = 6 if spec.get("mgmt_ipv6") else 4
    # IPAM first, as for VMs: a retried claim gets the same address back.
    address = store.store.allocate_ip("mgmt6" if version == 6 else "mgmt4", "switch/" + spec["instance_name"])
    keys = spec.get("ssh_keys") or []
    record = {
        "instance_name": spec["instance_name"], "sliver_id": spec["sliver_id"], "name": spec.get("name"),
        "device": spec["device"], "site": device.get("site"), "management_ip": address, "management_ip_version": version,
        "ports": [dict(p, state="DOWN") for p in ports], "ssh_keys": keys, "ssh_key_count": len(keys),
        "state": "CLAIMED", "created_at": now(),
    }
    store.store.put_record(KIND, spec["instance_name"], record)
    return True, {"switch": public(record)}


def op_configure(module, store, params):
    spec = spec_of(params)
    record = existing(store, spec)
    if record is None:
        raise SimError("instance %s was not claimed" % spec["instance_name"], "not_claimed")
    if record["state"] == "ACTIVE":
        return False, {"switch": public(record)}
    record.update(state="ACTIVE", configured_at=now(), ports=[dict(p, state="UP") for p in record["ports"]])
    store.store.put_record(KIND, spec["instance_name"], record)
    return True, {"switch": public(record)}


def op_release(module, store, params):
    spec = spec_of(params)
    record = store.store.record(KIND, spec["instance_name"])
    if record is not None and record.get("sliver_id") != spec["sliver_id"]:
        return False, {"existed": False, "released_ips": [],
                       "note": "instance %s belongs to sliver %s; left alone" % (spec["instance_name"], record.get("sliver_id"))}
    freed = store.store.release_ips("switch/" + spec["instance_name"])
    if record is not None:
        store.store.drop_record(KIND, spec["instance_name"])
    return record is not None or bool(freed), {"existed": record is not None, "released_ips": freed}


def op_probe(module, store, params):
    spec = spec_of(params)
    record = store.store.record(KIND, spec["instance_name"])
    if record is None or record.get("sliver_id") != spec["sliver_id"]:
        return False, {"observed": "MISSING", "details": "instance %s does not exist" % spec["instance_name"], "switch": {}}
    problems = []
    if record["state"] != "ACTIVE":
        problems.append("state is %s, not ACTIVE (the create did not finish)" % record["state"])
    problems.extend("port %s is %s" % (p["port"], p.get("state")) for p in record["ports"] if p.get("state") != "UP")
    if problems:
        return False, {"observed": "DEGRADED", "details": "; ".join(problems), "switch": public(record)}
    details = "P4 switch %s is ACTIVE at %s with %d port(s) up" % (record["device"], record["management_ip"], len(record["ports"]))
    return False, {"observed": "EXISTS", "details": details, "switch": public(record)}


def op_list(module, store, params):
    """Every switch claim (the orphan audit). Changes nothing."""
    return False, {"switches": [public(r) for r in store.store.records(KIND)]}


OPS = {"list": op_list, "validate": op_validate, "claim": op_claim, "configure": op_configure, "release": op_release, "probe": op_probe}

ARGUMENT_SPEC = dict(
    op=dict(type="str", required=True, choices=sorted(OPS)),
    state_dir=dict(type="path", required=True),
    switch=dict(type="dict", required=True),
    step=dict(type="str"),
    fail_at=dict(type="str", default=""),
    delay=dict(type="float", default=0),
)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), OPS)


if __name__ == "__main__":
    main()
