#!/usr/bin/python
# -*- coding: utf-8 -*-
# Simulated network services for am-handlers: L2/L3 services on the switches
# of the sim inventory, with a VLAN table that enforces one use of a VLAN per
# port. State layout and semantics: playbooks/sim/README.md.
#
# The service's rules (how many interfaces, sites, gateways...) are checked by
# the handler before any playbook runs; this module enforces what hardware
# would: devices and ports exist, a VLAN is used once per port, a name belongs
# to one sliver.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sim_network
short_description: Simulated network services (VLANs on switch ports) kept as JSON files
description: [See playbooks/sim/README.md in am-handlers.]
options:
  op: {description: validate, reserve, activate, delete, probe, list or mark_failed, required: true, type: str}
  state_dir: {description: Directory of the simulated state, required: true, type: path}
  service: {description: The service (name, sliver_id, type, interfaces, ...); {} for list, required: true, type: dict}
  step: {description: Playbook step name compared with fail_at (default the op), type: str}
  fail_at: {description: Fail with "injected failure at <step>" when it equals step, type: str}
  delay: {description: Seconds to sleep first (simulated device latency), type: float}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.sim_netstore import UNTAGGED, VLANS, now, run_module
from ansible.module_utils.sim_store import SimError, check_name

KIND = "netservices"
SWITCH_ROLES = ("switch",)


def spec_of(params):
    service = params["service"] or {}
    for key in ("name", "sliver_id", "type"):
        if not service.get(key):
            raise SimError("service.%s is required" % key, "invalid_argument")
    check_name(service["name"], "service name")
    return service


def owner(service):
    return ("net/" + service["name"], service["sliver_id"])


def existing(store, service):
    record = store.store.record(KIND, service["name"])
    if record is not None and record.get("sliver_id") != service["sliver_id"]:
        raise SimError("service %s belongs to sliver %s" % (service["name"], record.get("sliver_id")), "name_conflict")
    return record


def public(record):
    # The BGP MD5 key stays in the state file (the simulated router config), never in task output.
    out = dict(record)
    out["interfaces"] = []
    for ifc in record.get("interfaces", []):
        ifc = dict(ifc)
        if ifc.get("peering"):
            peering = dict(ifc["peering"])
            peering["bgp_key_set"] = bool(peering.pop("bgp_key", None))
            ifc["peering"] = peering
        out["interfaces"].append(ifc)
    return out


def plan(store, service):
    """Check devices, ports and VLANs; return the interfaces with the VLAN each gets."""
    interfaces = service.get("interfaces") or []
    if not interfaces:
        raise SimError("service %s has no interfaces" % service["name"], "invalid_argument")
    me, table, planned, seen = owner(service), store.vlans(), {}, set()
    result = []
    for ifc in interfaces:
        device, port, tag = ifc.get("device"), ifc.get("port"), ifc.get("vlan")
        if not device or not port:
            raise SimError("interface %s needs device and port" % ifc.get("name"), "invalid_argument")
        store.check_port(device, port, SWITCH_ROLES)
        if tag is None:
            tag = store.free_tag(table, device, port, me, planned.get((device, port), ()))
            assigned = True
        else:
            store.check_free(table, device, port, tag, me)
            assigned = False
        if (device, port, tag) in seen or (tag == UNTAGGED and (device, port) in planned):
            raise SimError("interface %s repeats %s %s VLAN %s within the service" % (ifc.get("name"), device, port, tag),
                           "invalid_argument")
        seen.add((device, port, tag))
        planned.setdefault((device, port), []).append(tag)
        entry = dict((k, ifc.get(k)) for k in ("name", "site", "device", "port", "bandwidth", "mac", "ipv4", "ipv6", "peering"))
        entry.update(vlan=tag, vlan_assigned=assigned)
        result.append(entry)
    for router in service.get("border_routers") or []:
        store.device(router, ("border",))
    mirror = service.get("mirror")
    if mirror:
        store.check_port(result[0]["device"], mirror.get("source"), SWITCH_ROLES)
    return result


def op_validate(module, store, params):
    service = spec_of(params)
    record = existing(store, service)
    interfaces = record["interfaces"] if record else plan(store, service)
    return False, {"exists": record is not None, "interfaces": interfaces}


def op_reserve(module, store, params):
    service = spec_of(params)
    record = existing(store, service)
    if record is not None:
        # Redelivered create: the service is what it was; nothing is re-planned.
        return False, {"service": public(record)}
    interfaces = plan(store, service)
    table = store.vlans()
    for ifc in interfaces:
        store.hold(table, ifc["device"], ifc["port"], ifc["vlan"], owner(service))
    store.store.write(VLANS, table)
    record = {
        "name": service["name"], "sliver_id": service["sliver_id"], "type": service["type"], "state": "RESERVED",
        "interfaces": interfaces, "gateway": service.get("gateway"), "subnet": service.get("subnet"),
        "ero": service.get("ero") or [], "permitted": service.get("permitted") or [],
        "mirror": service.get("mirror"), "border_routers": service.get("border_routers") or [],
        "created_at": now(),
    }
    store.store.put_record(KIND, service["name"], record)
    return True, {"service": public(record)}


def op_activate(module, store, params):
    service = spec_of(params)
    record = existing(store, service)
    if record is None:
        raise SimError("service %s has no reservation to activate" % service["name"], "not_reserved")
    # A service kept after a failed create is no longer "failed" once a create re-run activates it.
    cleared = record.pop("failed", None) is not None
    record.pop("kept_for_diagnosis", None)
    if record["state"] == "ACTIVE":
        if cleared:
            store.store.put_record(KIND, service["name"], record)
        return cleared, {"service": public(record)}
    record.update(state="ACTIVE", activated_at=now())
    store.store.put_record(KIND, service["name"], record)
    return True, {"service": public(record)}


def op_delete(module, store, params):
    service = spec_of(params)
    record = store.store.record(KIND, service["name"])
    if record is not None and record.get("sliver_id") != service["sliver_id"]:
        # Not ours: this sliver's service is gone already, and the other one stays.
        return False, {"existed": False, "released_vlans": [],
                       "note": "name %s is used by sliver %s; left alone" % (service["name"], record.get("sliver_id"))}
    # Release by owner, not by the record: a reservation whose record was never
    # written (a run killed in between) is freed too.
    freed = store.release(owner(service))
    if record is not None:
        store.store.drop_record(KIND, service["name"])
    return record is not None or bool(freed), {"existed": record is not None, "released_vlans": freed}


def op_mark_failed(module, store, params):
    """keep_failed: what a failed create reserved stays, flagged failed with why (a CLOSE removes it as usual)."""
    service = spec_of(params)
    record = existing(store, service)
    if record is None:
        return False, {"existed": False, "service": {}}
    record["failed"] = True
    record["kept_for_diagnosis"] = {"at": now(), "failed_step": params["failed_step"], "reason": params["failure_message"]}
    store.store.put_record(KIND, service["name"], record)
    return True, {"existed": True, "service": public(record)}


def op_probe(module, store, params):
    service = spec_of(params)
    record = store.store.record(KIND, service["name"])
    held = store.held_by(owner(service))
    if record is None or record.get("sliver_id") != service["sliver_id"]:
        if held:
            return False, {"observed": "DEGRADED", "details": "no service record, but VLANs still held: %s" % held,
                           "service": {}}
        return False, {"observed": "MISSING", "details": "service %s does not exist" % service["name"], "service": {}}
    problems = []
    if record.get("failed"):
        problems.append("kept for diagnosis after a failed create")
    if record["state"] != "ACTIVE":
        problems.append("state is %s, not ACTIVE (the create did not finish)" % record["state"])
    for ifc in record["interfaces"]:
        if [ifc["device"], ifc["port"], ifc["vlan"]] not in held:
            problems.append("%s: VLAN %s on %s %s is not held by the service" % (ifc["name"], ifc["vlan"], ifc["device"], ifc["port"]))
    if problems:
        return False, {"observed": "DEGRADED", "details": "; ".join(problems), "service": public(record)}
    details = "%s %s is ACTIVE on %d interface(s)" % (record["type"], record["name"], len(record["interfaces"]))
    return False, {"observed": "EXISTS", "details": details, "service": public(record)}


def op_list(module, store, params):
    """Every service record (the orphan audit). Changes nothing."""
    return False, {"services": [public(r) for r in store.store.records(KIND)]}


OPS = {"list": op_list, "validate": op_validate, "reserve": op_reserve, "activate": op_activate, "delete": op_delete, "probe": op_probe,
       "mark_failed": op_mark_failed}

ARGUMENT_SPEC = dict(
    op=dict(type="str", required=True, choices=sorted(OPS)),
    state_dir=dict(type="path", required=True),
    service=dict(type="dict", required=True),
    step=dict(type="str"),
    fail_at=dict(type="str", default=""),
    delay=dict(type="float", default=0),
    failed_step=dict(type="str"),
    failure_message=dict(type="str"),
)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), OPS)


if __name__ == "__main__":
    main()
