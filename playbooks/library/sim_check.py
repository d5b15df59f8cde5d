#!/usr/bin/python
# -*- coding: utf-8 -*-
# Read-only availability check of the simulated substrate, for `amh plan`:
# says for each resource a planned operation would claim (worker capacity,
# PCI devices, a VLAN on a switch port, a P4 switch) whether it is free, held
# by the same sliver already, or taken (and by whom).
#
# It never writes: no lock file, no default hardware files, no state
# directory is created. It reads the JSON files directly, without the
# store's flock; every writer replaces files atomically (rename), so a read
# sees a whole file, at worst one write old. A missing file reads as the
# default hardware (what the first write would create).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sim_check
short_description: Read-only availability check of the sim substrate (amh plan)
description: [See playbooks/sim/README.md in am-handlers, "Availability check".]
options:
  state_dir: {description: Directory of the simulated state (never created or written), required: true, type: path}
  claims: {description: 'Claims: [{kind: capacity|pci|vlan|p4, ...}] as src/plan/types.ts describes', required: true, type: list}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.sim_netstore import DEFAULT_INVENTORY, UNTAGGED, port_key
from ansible.module_utils.sim_store import DEFAULT_WORKERS


class State(object):
    """The state directory, read only."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def read(self, rel, default):
        path = os.path.join(self.root, rel)
        if not os.path.isfile(path):
            return default
        with open(path) as f:
            return json.load(f)

    def records(self, kind):
        directory = os.path.join(self.root, kind)
        if not os.path.isdir(directory):
            return []
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))
        return [r for r in (self.read(os.path.join(kind, n), None) for n in names) if r is not None]

    def workers(self):
        return self.read("workers.json", {"workers": DEFAULT_WORKERS})["workers"]

    def inventory(self):
        return self.read("netdevices.json", DEFAULT_INVENTORY)


def result(available, detail, **extra):
    return dict(extra, available=available, detail=detail)


def check_capacity(state, claim):
    flavor = claim.get("flavor") or {}
    workers = state.workers()
    wanted = [claim["worker"]] if claim.get("worker") else sorted(workers)
    fits, short = [], []
    for name in wanted:
        if name not in workers:
            return result(False, "unknown worker %s; known workers: %s" % (name, ", ".join(sorted(workers))))
        free = dict((k, int(workers[name][k2])) for k, k2 in (("core", "cores"), ("ram", "ram"), ("disk", "disk")))
        for vm in state.records("vms"):
            # The sliver's own VM (a re-run finds it) does not count against it.
            if vm.get("worker") == name and vm.get("instance_name") != claim.get("owner"):
                for k in free:
                    free[k] -= int((vm.get("flavor") or {}).get(k, 0))
        lacking = [k for k in ("core", "ram", "disk") if int(flavor.get(k, 0)) > free[k]]
        (short if lacking else fits).append("%s (free %d cores, %d GiB, %d GB)" % (name, free["core"], free["ram"], free["disk"]))
    if fits:
        return result(True, "fits on " + ", ".join(fits))
    return result(False, "no capacity: " + ", ".join(short))


def pci_problem(state, worker, claim):
    """None when every BDF of the claim is usable on worker, else why not."""
    devices = state.workers()[worker].get("pci") or {}
    held = state.read("pci.json", {}).get(worker, {})
    for bdf in claim.get("bdfs") or []:
        dev = devices.get(bdf)
        if dev is None:
            return "PCI device %s does not exist on %s" % (bdf, worker)
        if claim.get("type") and dev.get("type") != claim["type"]:
            return "PCI device %s on %s is a %s, not a %s" % (bdf, worker, dev.get("type"), claim["type"])
        h = held.get(bdf)
        if h is None or h.get("instance_name") == claim.get("owner"):
            continue
        if h.get("wipe_pending"):
            return "PCI device %s on %s was detached from VM %s and waits for its wipe" % (bdf, worker, h.get("instance_name"))
        return "PCI device %s on %s is attached to VM %s (sliver %s, component %s)" % (
            bdf, worker, h.get("instance_name"), h.get("sliver_id"), h.get("component"))
    return None


def check_pci(state, claim):
    workers = state.workers()
    wanted = [claim["worker"]] if claim.get("worker") else sorted(workers)
    free, taken = [], []
    for name in wanted:
        if name not in workers:
            return result(False, "unknown worker %s" % name)
        problem = pci_problem(state, name, claim)
        (taken if problem else free).append(problem or name)
    bdfs = ", ".join(claim.get("bdfs") or [])
    if free and not taken:
        return result(True, "%s free on %s" % (bdfs, ", ".join(free)))
    if free:
        return result(True, "%s free on %s; %s" % (bdfs, ", ".join(free), "; ".join(taken)))
    return result(False, "; ".join(taken))


def check_vlan(state, claim, planned):
    inventory = state.inventory()
    device, port, tag = claim.get("device"), claim.get("port"), claim.get("vlan")
    record = inventory["devices"].get(device)
    if record is None or record.get("role") != "switch":
        return result(False, "unknown switch %r" % device)
    if port not in record["ports"]:
        return result(False, "switch %s has no port %r" % (device, port))
    me = (claim.get("owner"), claim.get("sliver_id"))
    used = state.read("vlans.json", {}).get(port_key(device, port), {})
    others = dict((int(t), h) for t, h in used.items() if (h.get("owner"), h.get("sliver_id")) != me)
    mine = planned.setdefault((device, port), [])
    if tag is None:
        if UNTAGGED in others:
            return result(False, "port %s %s is used untagged by %s" % (device, port, others[UNTAGGED].get("owner")))
        low, high = inventory["vlan_range"]
        for candidate in range(low, high + 1):
            if candidate not in others and candidate not in mine:
                mine.append(candidate)
                return result(True, "VLAN %d would be assigned on %s %s" % (candidate, device, port), vlan=candidate)
        return result(False, "no free VLAN in %d-%d on %s %s" % (low, high, device, port))
    clash = others.get(tag) or (others.get(UNTAGGED) if tag != UNTAGGED else next(iter(others.values()), None))
    if clash is not None:
        what = "the port (untagged)" if tag == UNTAGGED else "VLAN %d" % tag
        return result(False, "%s on %s %s is in use by %s (sliver %s)" % (what, device, port, clash.get("owner"), clash.get("sliver_id")))
    mine.append(tag)
    return result(True, "VLAN %d free on %s %s" % (tag, device, port), vlan=tag)


def check_p4(state, claim):
    record = state.inventory()["devices"].get(claim.get("device"))
    if record is None or record.get("role") != "p4":
        return result(False, "unknown P4 switch %r" % claim.get("device"))
    for other in state.records("p4switches"):
        if other.get("device") == claim["device"] and other.get("sliver_id") != claim.get("sliver_id"):
            return result(False, "P4 switch %s is in use by %s (sliver %s)" % (claim["device"], other.get("instance_name"), other.get("sliver_id")))
    return result(True, "P4 switch %s is free" % claim["device"])


def main():
    module = AnsibleModule(argument_spec=dict(state_dir=dict(type="path", required=True), claims=dict(type="list", elements="dict", required=True)),
                           supports_check_mode=True)
    state = State(module.params["state_dir"])
    planned = {}
    checks = []
    for claim in module.params["claims"]:
        kind = claim.get("kind")
        try:
            if kind == "capacity":
                checks.append(check_capacity(state, claim))
            elif kind == "pci":
                checks.append(check_pci(state, claim))
            elif kind == "vlan":
                checks.append(check_vlan(state, claim, planned))
            elif kind == "p4":
                checks.append(check_p4(state, claim))
            else:
                checks.append(result(None, "the sim cannot check a %r claim" % kind))
        except (ValueError, KeyError, TypeError) as exc:
            checks.append(result(None, "could not check: %s" % exc))
    module.exit_json(changed=False, checks=checks)


if __name__ == "__main__":
    main()
