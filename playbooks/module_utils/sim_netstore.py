# -*- coding: utf-8 -*-
# Network hardware of the simulated substrate (see playbooks/sim/README.md):
# the device inventory (switches, border routers, P4 switches and their ports)
# and the VLAN table, one entry per VLAN per port. Built on sim_store.Store, so
# every read-modify-write happens under the same flock as the VM side.
#
# Shared by sim_network (network services) and sim_switch (P4 switches).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.sim_store import SimError, Store

INVENTORY = "netdevices.json"
VLANS = "vlans.json"

# Tag 0 stands for "untagged": the whole port, exclusive of every tagged use.
UNTAGGED = 0


def _ports(template, count):
    return [template % i for i in range(1, count + 1)]


# Hardware written on first use when state_dir/netdevices.json is missing.
# Sites match the workers and events in test/helpers (SIM1, SIM2, SIM3).
DEFAULT_INVENTORY = {
    "vlan_range": [100, 3999],
    "devices": {
        "sim-sw-1": {"site": "SIM1", "role": "switch", "ports": _ports("HundredGigE0/0/0/%d", 32)},
        "sim-sw-2": {"site": "SIM2", "role": "switch", "ports": _ports("HundredGigE0/0/0/%d", 32)},
        "sim-sw-3": {"site": "SIM3", "role": "switch", "ports": _ports("HundredGigE0/0/0/%d", 32)},
        "sim-br-1": {"site": "SIM1", "role": "border", "ports": _ports("HundredGigE0/0/1/%d", 8)},
        "sim-br-2": {"site": "SIM2", "role": "border", "ports": _ports("HundredGigE0/0/1/%d", 8)},
        "sim-p4-1": {"site": "SIM1", "role": "p4", "ports": _ports("%d/0", 32)},
        "sim-p4-2": {"site": "SIM2", "role": "p4", "ports": _ports("%d/0", 32)},
    },
}


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def port_key(device, port):
    # Port names contain '/', device names '-': '|' separates them unambiguously.
    return "%s|%s" % (device, port)


class NetStore(object):
    """Inventory and VLAN table on top of an entered sim_store.Store."""

    def __init__(self, store):
        self.store = store

    # -- inventory ---------------------------------------------------------------
    def inventory(self):
        inventory = self.store.read(INVENTORY)
        if inventory is None:
            inventory = DEFAULT_INVENTORY
            self.store.write(INVENTORY, inventory)
        return inventory

    def device(self, name, roles=None):
        devices = self.inventory()["devices"]
        record = devices.get(name)
        if record is None or (roles and record.get("role") not in roles):
            known = sorted(n for n, d in devices.items() if not roles or d.get("role") in roles)
            raise SimError("unknown device %r; known: %s" % (name, ", ".join(known)), "unknown_device")
        return record

    def check_port(self, device, port, roles=None):
        record = self.device(device, roles)
        if port not in record["ports"]:
            raise SimError("device %s has no port %r" % (device, port), "unknown_port")
        return record

    # -- VLAN table: {"<device>|<port>": {"<tag>": {"owner": "net/<name>", "sliver_id": ..}}} --
    # An owner is (owner, sliver_id): a name reused by another sliver never
    # frees or takes over what this one holds.
    def vlans(self):
        return self.store.read(VLANS, {})

    @staticmethod
    def _others(table, device, port, me):
        used = table.get(port_key(device, port), {})
        return [(int(t), h) for t, h in used.items() if (h.get("owner"), h.get("sliver_id")) != me]

    def check_free(self, table, device, port, tag, me):
        """Raise vlan_in_use unless `tag` on the port is free or already held by `me`."""
        others = self._others(table, device, port, me)
        if tag == UNTAGGED:
            clash = others[0] if others else None  # untagged takes the whole port
        else:
            clash = next((o for o in others if o[0] in (tag, UNTAGGED)), None)
        if clash is not None:
            what = "the port (untagged)" if tag == UNTAGGED else "VLAN %d" % tag
            holder = clash[1]
            raise SimError("%s on %s %s is in use by %s (sliver %s)" % (what, device, port, holder["owner"], holder["sliver_id"]),
                           "vlan_in_use", device=device, port=port, vlan=tag, holder=holder["owner"])

    def free_tag(self, table, device, port, me, planned=()):
        """Lowest tag of vlan_range free on the port; `planned` = tags this request already picked there."""
        low, high = self.inventory()["vlan_range"]
        others = self._others(table, device, port, me)
        if any(t == UNTAGGED for t, _ in others):
            raise SimError("port %s %s is used untagged by %s" % (device, port, others[0][1]["owner"]), "vlan_in_use")
        used = table.get(port_key(device, port), {})
        # A retried reservation (same owner) gets the tag it already holds.
        mine = sorted(int(t) for t, h in used.items() if (h.get("owner"), h.get("sliver_id")) == me and int(t) not in planned)
        if mine:
            return mine[0]
        for tag in range(low, high + 1):
            if str(tag) not in used and tag not in planned:
                return tag
        raise SimError("no free VLAN in %d-%d on %s %s" % (low, high, device, port), "no_vlan")

    def hold(self, table, device, port, tag, me):
        table.setdefault(port_key(device, port), {})[str(tag)] = {"owner": me[0], "sliver_id": me[1]}

    def release(self, me):
        """Drop every VLAN `me` holds; returns what was freed as [device, port, tag]."""
        table = self.vlans()
        freed = []
        for key in sorted(table):
            for tag in [t for t, h in table[key].items() if (h.get("owner"), h.get("sliver_id")) == me]:
                del table[key][tag]
                freed.append(key.split("|", 1) + [int(tag)])
            if not table[key]:
                del table[key]
        if freed:
            self.store.write(VLANS, table)
        return freed

    def held_by(self, me):
        table = self.vlans()
        return sorted(key.split("|", 1) + [int(t)]
                      for key, used in table.items() for t, h in used.items() if (h.get("owner"), h.get("sliver_id")) == me)


def run_module(module, ops):
    """The shared main(): failure injection, latency, the lock, refusals as error_code."""
    params = module.params
    step = params["step"] or params["op"]
    if params["fail_at"] and params["fail_at"] == step:
        module.fail_json(msg="injected failure at %s" % step, step=step, error_code="injected")
    if params["delay"] > 0:
        # Outside the lock: a slow simulated step must not stall other runs.
        time.sleep(params["delay"])
    try:
        with Store(params["state_dir"], check_mode=module.check_mode) as store:
            changed, result = ops[params["op"]](module, NetStore(store), params)
    except SimError as exc:
        module.fail_json(msg=exc.msg, step=step, error_code=exc.code, **exc.details)
    module.exit_json(changed=changed, step=step, **result)
