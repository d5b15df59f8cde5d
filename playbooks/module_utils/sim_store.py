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

# Hardware created on first use when state_dir/workers.json is missing.
# Names match the workers in test/helpers/events.ts. Units: cores, GiB, GB.
DEFAULT_WORKERS = {
    "sim-worker-1": {"cores": 64, "ram": 512, "disk": 4000},
    "sim-worker-2": {"cores": 64, "ram": 512, "disk": 4000},
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
    def allocate_ip(self, pool, owner):
        """Lowest free address of pool for owner; an owner keeps the address it already has."""
        ipam = self.read("ipam.json", {})
        used = ipam.setdefault(pool, {})
        for address, holder in used.items():
            if holder == owner:
                return address
        network = ipaddress.ip_network(IP_POOLS[pool])
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
