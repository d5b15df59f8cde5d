# -*- coding: utf-8 -*-
# Simulated worker hardware: NUMA layout, PCI devices and who holds them.
# Used by the sim_* modules inside `with Store(state_dir) as store:`.
#
# pci.json is the hypervisors' view of passthrough: {worker: {bdf: holder}}.
# A BDF has at most one holder, which is what makes "a device is attached to
# one VM at a time" hold however many runs race (they are serialised by the
# store's flock). VM records keep the guest's view (guest BDFs, interfaces).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.sim_store import SimError

PCI_FILE = "pci.json"
# Device types that hold tenant data: detaching one leaves it held, "wipe
# pending", until a wipe is recorded; only the wipe frees it.
WIPED_TYPES = ("NVME",)
WIPES_FILE = "wipes.json"
VOLUME_KIND = "volumes"


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_cpus(text):
    """Linux cpulist ("0-3,8") -> [0, 1, 2, 3, 8]."""
    cpus = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.extend(range(int(low), int(high or low) + 1))
    return cpus


def worker_spec(store, worker):
    workers = store.workers()
    if worker not in workers:
        raise SimError("unknown worker %r; known workers: %s" % (worker, ", ".join(sorted(workers))), "unknown_worker")
    return workers[worker]


def numa_nodes(spec):
    """[{node, cpus: [..], memory}]: the worker's own layout, else one node holding everything."""
    nodes = spec.get("numa") or [{"node": 0, "cpus": "0-%d" % (int(spec["cores"]) - 1), "memory": spec["ram"]}]
    return [{"node": int(n["node"]), "cpus": parse_cpus(n["cpus"]), "memory": int(n["memory"])} for n in nodes]


def device(store, worker, bdf):
    devices = worker_spec(store, worker).get("pci") or {}
    if bdf not in devices:
        raise SimError("PCI device %s does not exist on worker %s" % (bdf, worker), "unknown_device", bdf=bdf)
    return devices[bdf]


def card_functions(store, worker, card):
    """All BDFs of one physical card (multi-function devices), sorted."""
    devices = worker_spec(store, worker).get("pci") or {}
    return sorted(b for b, d in devices.items() if d.get("card") == card)


# -- pci.json: {worker: {bdf: {instance_name, sliver_id, component}}} ------------------------
def holders(store, worker):
    return store.read(PCI_FILE, {}).get(worker, {})


def holder(store, worker, bdf):
    return holders(store, worker).get(bdf)


def is_wiped_type(store, worker, bdf):
    return (worker_spec(store, worker).get("pci") or {}).get(bdf, {}).get("type") in WIPED_TYPES


def hold(store, worker, bdfs, instance_name, sliver_id, component):
    table = store.read(PCI_FILE, {})
    held = table.setdefault(worker, {})
    for bdf in bdfs:
        held[bdf] = {"instance_name": instance_name, "sliver_id": sliver_id, "component": component}
    store.write(PCI_FILE, table)


def release(store, worker, bdfs, instance_name):
    """Frees the BDFs this instance holds; never touches another instance's. Returns the freed BDFs."""
    table = store.read(PCI_FILE, {})
    held = table.get(worker, {})
    freed = [b for b in bdfs if held.get(b, {}).get("instance_name") == instance_name]
    for bdf in freed:
        del held[bdf]
    if freed:
        store.write(PCI_FILE, table)
    return freed


def mark_wipe_pending(store, worker, bdfs, instance_name):
    """Detached from the guest, still held until wiped (only BDFs this instance holds). Returns them."""
    table = store.read(PCI_FILE, {})
    held = table.get(worker, {})
    marked = [b for b in bdfs if held.get(b, {}).get("instance_name") == instance_name]
    for bdf in marked:
        if not held[bdf].get("wipe_pending"):
            held[bdf] = dict(held[bdf], wipe_pending=True, detached_at=now())
    if marked:
        store.write(PCI_FILE, table)
    return marked


def attached(hold_entry):
    """A holder entry that is a live attachment (not a device waiting for its wipe)."""
    return hold_entry is not None and not hold_entry.get("wipe_pending")


def pending_wipes(store, instance_name):
    """[{worker, bdf, component, type, instance_name, sliver_id}] detached from this instance, not wiped yet."""
    out = []
    for worker, held in sorted(held_by(store, instance_name).items()):
        for bdf in sorted(held):
            h = held[bdf]
            if h.get("wipe_pending"):
                out.append({"worker": worker, "bdf": bdf, "component": h.get("component"),
                            "type": (worker_spec(store, worker).get("pci") or {}).get(bdf, {}).get("type"),
                            "instance_name": instance_name, "sliver_id": h.get("sliver_id")})
    return out


def held_by(store, instance_name):
    """{worker: {bdf: holder}} of everything this instance holds (on any worker)."""
    found = {}
    for worker, held in store.read(PCI_FILE, {}).items():
        mine = dict((b, h) for b, h in held.items() if h.get("instance_name") == instance_name)
        if mine:
            found[worker] = mine
    return found


def check_free(store, worker, bdfs, instance_name, component):
    """Refuses BDFs held by another VM (bdf_in_use, or wipe_pending while its wipe is due) or by
    another component of this VM. This VM may take back a device of its own that waits for a wipe:
    no tenant boundary is crossed."""
    for bdf in bdfs:
        h = holder(store, worker, bdf)
        if h is None:
            continue
        if h.get("wipe_pending"):
            if h.get("instance_name") == instance_name:
                continue
            raise SimError(
                "PCI device %s on %s was detached from VM %s (sliver %s) and is not wiped yet"
                % (bdf, worker, h.get("instance_name"), h.get("sliver_id")),
                "wipe_pending", bdf=bdf, holder=h)
        if h.get("instance_name") != instance_name:
            raise SimError(
                "PCI device %s on %s is already attached to VM %s (sliver %s, component %s)"
                % (bdf, worker, h.get("instance_name"), h.get("sliver_id"), h.get("component")),
                "bdf_in_use", bdf=bdf, holder=h)
        if h.get("component") != component:
            raise SimError("PCI device %s is already attached to this VM as component %s" % (bdf, h.get("component")),
                           "bdf_in_use", bdf=bdf, holder=h)


# -- wipes: wipes.json = {"wipes": [{worker, bdf, instance_name, sliver_id, reason, at}]} --
def record_wipe(store, worker, bdf, instance_name, sliver_id, reason):
    log = store.read(WIPES_FILE, {"wipes": []})
    entry = {"worker": worker, "bdf": bdf, "instance_name": instance_name, "sliver_id": sliver_id,
             "reason": reason, "at": now()}
    log["wipes"].append(entry)
    store.write(WIPES_FILE, log)
    return entry


# -- volumes: volumes/<name>.json = {name, size_gb, attached_to, sliver_id, guest_device} ---------
def volume(store, name, create=True):
    record = store.record(VOLUME_KIND, name)
    if record is None and create:
        # Project volumes exist before a VM asks for them; the sim makes them on first use.
        record = {"name": name, "size_gb": 100, "attached_to": None, "sliver_id": None, "guest_device": None,
                  "created_at": now()}
        store.put_record(VOLUME_KIND, name, record)
    return record


def volumes_of(store, instance_name):
    return [v for v in store.records(VOLUME_KIND) if v.get("attached_to") == instance_name]
