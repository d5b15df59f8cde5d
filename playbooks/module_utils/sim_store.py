# -*- coding: utf-8 -*-
# State store of the simulated substrate (see playbooks/sim/README.md).
# Shared by sim_* modules through ANSIBLE_MODULE_UTILS=<repo>/playbooks/module_utils.
#
# Everything happens inside `with Store(state_dir) as store:` which holds an
# exclusive flock on state_dir/.lock: read-modify-write cycles of concurrent
# playbook runs are serialised. Files are replaced atomically (write to a temp
# file, rename), so a killed run never leaves half-written JSON behind.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import ipaddress
import json
import os
import re
import tempfile



def _default_worker(index):
    """One simulated server: 64 cores on 2 NUMA nodes and the PCI devices of a FABRIC worker.

    Both default workers have the same BDFs (identical servers); MACs differ
    per worker (the 4th octet is the worker's index). Layout and the meaning
    of every field: playbooks/sim/README.md ("Hardware").
    """
    w = "%02x" % index

    def nic(card, port, mac, numa):
        return {"type": "SmartNIC", "model": "ConnectX-6", "card": card, "port": port, "mac": mac, "numa": numa}

    pci = {
        "0000:25:00.0": {"type": "GPU", "model": "Tesla T4", "numa": 0},
        "0000:81:00.0": {"type": "GPU", "model": "Tesla T4", "numa": 1},
        "0000:41:00.0": nic("smartnic1", 1, "0c:42:a1:%s:41:00" % w, 0),
        "0000:41:00.1": nic("smartnic1", 2, "0c:42:a1:%s:41:01" % w, 0),
        "0000:a1:00.0": nic("smartnic2", 1, "0c:42:a1:%s:a1:00" % w, 1),
        "0000:a1:00.1": nic("smartnic2", 2, "0c:42:a1:%s:a1:01" % w, 1),
        # Multi-function FPGA (both functions go to one VM together) and a whole-device one.
        "0000:c1:00.0": {"type": "FPGA", "model": "Xilinx U280", "card": "fpga1", "numa": 1},
        "0000:c1:00.1": {"type": "FPGA", "model": "Xilinx U280", "card": "fpga1", "numa": 1},
        "0000:c2:00.0": {"type": "FPGA", "model": "Xilinx U280", "card": "fpga2", "numa": 1},
    }
    for n in range(4):
        pci["0000:2%d:00.0" % (n + 1)] = {"type": "NVME", "model": "P4510", "numa": 0}
    for n in range(8):
        # Virtual functions of the shared ConnectX-6: one VF per VM interface.
        pci["0000:e2:01.%d" % n] = {"type": "SharedNIC", "model": "ConnectX-6 VF", "card": "sharednic1",
                                    "mac": "02:c2:a1:%s:01:%02x" % (w, n), "numa": 1}
    return {
        "cores": 64, "ram": 512, "disk": 4000,
        "numa": [{"node": 0, "cpus": "0-31", "memory": 256}, {"node": 1, "cpus": "32-63", "memory": 256}],
        "pci": pci,
    }


# Hardware created on first use when state_dir/workers.json is missing.
# Names match the workers in test/helpers/events.ts. Units: cores, GiB, GB.
# `numa` and `pci` are optional: a worker without them has one NUMA node and no devices.
DEFAULT_WORKERS = {
    "sim-worker-1": _default_worker(1),
    "sim-worker-2": _default_worker(2),
}

# Management networks. The first two addresses (network, gateway) are never handed out.
IP_POOLS = {
    "mgmt4": "10.20.0.0/16",
    "mgmt6": "fd00:20::/64",
}

# Record kinds whose records consume worker capacity ({"worker": .., "flavor": {core, ram, disk}}).
CAPACITY_KINDS = ("vms",)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class SimError(Exception):
    """A refusal of the substrate. `code` is machine-readable (e.g. no_capacity)."""

    def __init__(self, msg, code="substrate", **details):
        Exception.__init__(self, msg)
        self.msg = msg
        self.code = code
        self.details = details
        # Unreachable-like refusals pass retriable=True; the handler's retry policy reads it from the task result.
        self.retriable = bool(details.get("retriable", False))


def check_name(name, what="name"):
    # Names become file names: no slashes, no leading dot, bounded length.
    if not isinstance(name, str) or not _NAME.match(name):
        raise SimError("invalid %s %r: use letters, digits, '.', '_', '-' (max 128)" % (what, name), "invalid_argument")
    return name


class Store(object):
    def __init__(self, state_dir, check_mode=False):
        self.root = os.path.abspath(state_dir)
        self.check_mode = check_mode
        self._lock = None

    # -- locking -----------------------------------------------------------
    def __enter__(self):
        if not os.path.isdir(self.root):
            os.makedirs(self.root, exist_ok=True)
        self._lock = open(os.path.join(self.root, ".lock"), "a+")
        fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None
        return False

    # -- files ---------------------------------------------------------------
    def path(self, rel):
        return os.path.join(self.root, rel)

    def read(self, rel, default=None):
        try:
            with open(self.path(rel)) as f:
                return json.load(f)
        except (IOError, OSError):
            if os.path.exists(self.path(rel)):
                raise
            return default

    def write(self, rel, data):
        assert self._lock is not None, "write outside the lock"
        if self.check_mode:
            return
        target = self.path(rel)
        directory = os.path.dirname(target)
        if not os.path.isdir(directory):
            os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2, sort_keys=True)
                f.write("\n")
            os.replace(tmp, target)
        except Exception:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def remove(self, rel):
        if not self.check_mode and os.path.exists(self.path(rel)):
            os.unlink(self.path(rel))

    # -- records: <kind>/<name>.json ---------------------------------------------
    def record(self, kind, name):
        return self.read(os.path.join(kind, check_name(name) + ".json"))

    def put_record(self, kind, name, data):
        self.write(os.path.join(kind, check_name(name) + ".json"), data)

    def drop_record(self, kind, name):
        self.remove(os.path.join(kind, check_name(name) + ".json"))

    def records(self, kind):
        directory = self.path(kind)
        if not os.path.isdir(directory):
            return []
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))
        return [r for r in (self.read(os.path.join(kind, n)) for n in names) if r is not None]

    # -- workers and capacity ------------------------------------------------------
    def workers(self):
        workers = self.read("workers.json")
        if workers is None:
            workers = {"workers": DEFAULT_WORKERS}
            self.write("workers.json", workers)
        return workers["workers"]

    def free_capacity(self, worker):
        workers = self.workers()
        if worker not in workers:
            raise SimError("unknown worker %r; known workers: %s" % (worker, ", ".join(sorted(workers))), "unknown_worker")
        free = {"core": workers[worker]["cores"], "ram": workers[worker]["ram"], "disk": workers[worker]["disk"]}
        for kind in CAPACITY_KINDS:
            for rec in self.records(kind):
                if rec.get("worker") == worker:
                    for k in free:
                        free[k] -= int(rec.get("flavor", {}).get(k, 0))
        return free

    def check_capacity(self, worker, flavor):
        free = self.free_capacity(worker)
        short = ["%s (requested %d, free %d)" % (k, flavor[k], free[k]) for k in ("core", "ram", "disk") if flavor[k] > free[k]]
        if short:
            raise SimError("worker %s lacks capacity: %s" % (worker, ", ".join(short)), "no_capacity", free=free)
        return free

    # -- IP address management: ipam.json = {pool: {address: owner}} -------------------
    def allocate_ip(self, pool, owner, wanted=None):
        """Lowest free address of pool for owner; an owner keeps the address it already has.
        With `wanted` (a re-creation asking for its old address, as a fixed IP on a cloud port),
        that address, when it is in the pool and free."""
        ipam = self.read("ipam.json", {})
        used = ipam.setdefault(pool, {})
        for address, holder in used.items():
            if holder == owner:
                return address
        network = ipaddress.ip_network(IP_POOLS[pool])
        if wanted:
            try:
                address = ipaddress.ip_address(wanted)
            except ValueError:
                raise SimError("management address %s is not an address" % wanted, "bad_address")
            if address not in network:
                raise SimError("management address %s is not in pool %s (%s)" % (wanted, pool, IP_POOLS[pool]), "bad_address")
            if str(address) in used:
                raise SimError("management address %s is held by %s" % (address, used[str(address)]), "address_in_use")
            used[str(address)] = owner
            self.write("ipam.json", ipam)
            return str(address)
        candidate = int(network.network_address) + 2
        last = int(network.broadcast_address) - (1 if network.version == 4 else 0)
        while candidate <= last:
            address = str(ipaddress.ip_address(candidate))
            if address not in used:
                used[address] = owner
                self.write("ipam.json", ipam)
                return address
            candidate += 1
        raise SimError("management pool %s (%s) is exhausted" % (pool, IP_POOLS[pool]), "no_address")

    def release_ips(self, owner):
        ipam = self.read("ipam.json", {})
        freed = []
        for used in ipam.values():
            for address in [a for a, holder in used.items() if holder == owner]:
                del used[address]
                freed.append(address)
        if freed:
            self.write("ipam.json", ipam)
        return freed


# -- failure injection (tests) ---------------------------------------------------
def injected_failure(store, params, step, target=None):
    """The failure a test asked for at this step, as a SimError, or None.

    `fail_at` names a step ("attach_pci") or a step of one target
    ("attach_pci:GPU1"). `fail_mode: transient` fails only the first
    `fail_count` attempts of that step for this sliver (counted in
    faults.json, so across playbook runs) and marks them retriable; any
    other mode fails every attempt. Call it inside `with Store(...)`.
    """
    wanted = params.get("fail_at") or ""
    if not wanted or wanted not in (step, "%s:%s" % (step, target)):
        return None
    if (params.get("fail_mode") or "permanent") != "transient":
        return SimError("injected failure at %s" % step, "injected")
    limit = int(params.get("fail_count") or 1)
    faults = store.read("faults.json", {})
    key = "%s/%s" % (params.get("sliver_id") or params.get("instance_name") or "-", wanted)
    seen = int(faults.get(key, 0))
    if seen >= limit:
        return None
    faults[key] = seen + 1
    store.write("faults.json", faults)
    return SimError("injected transient failure at %s (attempt %d of %d that fail)" % (step, seen + 1, limit),
                    "injected", retriable=True)
