# -*- coding: utf-8 -*-
# VM life cycle of the simulated substrate: placement, boot, management IP,
# reachability, reboot, SSH keys, probe, delete and leftover removal.
# Every op is `op_x(module, store, params) -> (changed, result)`, run under
# the store's lock by library/sim_substrate.py.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible.module_utils.sim_store import SimError, check_name
from ansible.module_utils import sim_hardware as hw

VM_KIND = "vms"
PUBLIC_VM_KEYS = ("instance_name", "sliver_id", "name", "worker", "management_ip", "management_ip_version",
                  "state", "flavor", "image", "ssh_key_count", "created_at", "domain", "boots", "reboots",
                  "post_boot", "cpu_pins", "numa_node_set", "failed", "kept_for_diagnosis")
PCI_TYPES = ("GPU", "SmartNIC", "SharedNIC", "FPGA", "NVME")
NIC_TYPES = ("SmartNIC", "SharedNIC")


def public_vm(record):
    # ssh_keys stay in the state file (the simulated authorized_keys), not in task output.
    out = dict((k, record[k]) for k in PUBLIC_VM_KEYS if k in record)
    out["components"] = [record["components"][n] for n in sorted(record.get("components", {}))]
    return out


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
    """The VM record or None; a record of another sliver is a conflict, never ours to touch."""
    record = store.record(VM_KIND, name)
    if record is not None and params["sliver_id"] and record.get("sliver_id") != params["sliver_id"]:
        raise SimError("instance %s belongs to sliver %s" % (name, record.get("sliver_id")), "name_conflict")
    if record is not None:
        record.setdefault("components", {})
    return record


def require_vm(store, params):
    name = instance_name(params)
    record = existing_vm(store, name, params)
    if record is None:
        raise SimError("VM %s does not exist" % name, "not_found")
    return record


def save(store, record):
    store.put_record(VM_KIND, record["instance_name"], record)


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
        # A create re-run for the same sliver (crash, redelivery, retry) finds its VM and goes on;
        # a VM kept after a failed create is no longer "failed" while the create runs again.
        marks = [record.pop(k, None) for k in ("failed", "kept_for_diagnosis")]
        if any(m is not None for m in marks):
            save(store, record)
            return True, {"vm": public_vm(record)}
        return False, {"vm": public_vm(record)}
    flavor = flavor_of(params)
    worker = choose_worker(store, params, flavor)
    version = 6 if params["mgmt_ipv6"] else 4
    # IPAM first: if the run dies before the record is written, the same
    # instance gets the same address back on retry (allocation is per owner).
    address = store.allocate_ip("mgmt6" if version == 6 else "mgmt4", "vm/" + name, params.get("management_ip"))
    record = {
        "instance_name": name, "sliver_id": params["sliver_id"], "name": params["name"], "worker": worker,
        "flavor": flavor, "image": params["image"], "ssh_keys": params["ssh_keys"] or [],
        "ssh_key_count": len(params["ssh_keys"] or []), "management_ip": address,
        "management_ip_version": version, "state": "ACTIVE", "created_at": hw.now(),
        # The hypervisor's name for the domain (libvirt), as OpenStack's instance_name would be.
        "domain": "instance-%08x" % int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], 16),
        "boots": 1, "reboots": 0, "post_boot": False, "cpu_pins": {}, "numa_node_set": [], "components": {},
    }
    save(store, record)
    return True, {"vm": public_vm(record)}


def op_vm_get(module, store, params):
    record = store.record(VM_KIND, instance_name(params))
    return False, {"exists": record is not None, "vm": public_vm(record) if record else {}}


def op_vm_wait_ssh(module, store, params):
    # Simulated: the VM must exist and be ACTIVE. Unreachable is transient: the playbook retries it.
    name = instance_name(params)
    record = store.record(VM_KIND, name)
    if record is None or record.get("state") != "ACTIVE":
        raise SimError("instance %s is not ACTIVE" % name, "not_active", retriable=True)
    return False, {"vm": public_vm(record)}


def op_vm_reboot(module, store, params):
    record = require_vm(store, params)
    record["reboots"] = int(record.get("reboots", 0)) + 1
    record["boots"] = int(record.get("boots", 1)) + 1
    record["state"] = "ACTIVE"
    save(store, record)
    return True, {"vm": public_vm(record)}


def op_vm_post_boot(module, store, params):
    # Stands for installing the guest's network tooling before NICs are configured.
    record = require_vm(store, params)
    if record.get("post_boot"):
        return False, {"vm": public_vm(record)}
    record["post_boot"] = True
    save(store, record)
    return True, {"vm": public_vm(record)}


def op_vm_ssh_keys(module, store, params):
    """Adds (key_state present) or removes (absent) keys in the guest's authorized_keys."""
    record = require_vm(store, params)
    keys = list(record.get("ssh_keys", []))
    wanted = params["ssh_keys"] or []
    if params["key_state"] == "absent":
        updated = [k for k in keys if k not in wanted]
    else:
        updated = keys + [k for k in wanted if k not in keys]
    changed = updated != keys
    record["ssh_keys"] = updated
    record["ssh_key_count"] = len(updated)
    if changed:
        save(store, record)
    return changed, {"vm": public_vm(record), "info": {"ssh_key_count": len(updated), "keys_changed": changed}}


def op_vm_probe(module, store, params):
    """What exists for this VM, component by component, as the hypervisor sees it. Changes nothing."""
    name = instance_name(params)
    record = existing_vm(store, name, params)
    pending = hw.pending_wipes(store, name)
    if record is None:
        stray = hw.held_by(store, name)
        return False, {"probe": {"exists": False, "instance_name": name, "components": [],
                                 "stray_bdfs": sorted(b for held in stray.values() for b, h in held.items()
                                                      if hw.attached(h)),
                                 "wipe_pending": pending}}
    held = dict((b, h) for b, h in hw.holders(store, record["worker"]).items() if hw.attached(h))
    volumes = dict((v["name"], v) for v in hw.volumes_of(store, name))
    components = []
    known = set()
    for comp in (record["components"][n] for n in sorted(record.get("components", {}))):
        seen = dict(comp)
        bdfs = comp.get("bdfs", [])
        seen["attached_bdfs"] = [b for b in bdfs if held.get(b, {}).get("instance_name") == name]
        known.update(bdfs)
        if comp.get("type") == "Storage":
            seen["volume_attached"] = comp.get("volume") in volumes
        components.append(seen)
    stray = sorted(b for b, h in held.items() if h.get("instance_name") == name and b not in known)
    probe = dict(public_vm(record), exists=True, components=components, stray_bdfs=stray, wipe_pending=pending)
    return False, {"probe": probe}


def op_vm_delete(module, store, params):
    name = instance_name(params)
    record = existing_vm(store, name, params)
    freed = store.release_ips("vm/" + name)
    if record is None:
        return bool(freed), {"existed": False, "released_ips": freed}
    store.drop_record(VM_KIND, name)
    return True, {"existed": True, "released_ips": freed, "vm": public_vm(record)}


def op_vm_mark_failed(module, store, params):
    """keep_failed: the VM of a failed create stays, flagged failed with why (a CLOSE removes it as usual)."""
    name = instance_name(params)
    record = existing_vm(store, name, params)
    if record is None:
        return False, {"vm": {"instance_name": name, "existed": False}}
    record["failed"] = True
    record["kept_for_diagnosis"] = {"at": hw.now(), "failed_step": params["failed_step"], "reason": params["failure_message"]}
    save(store, record)
    return True, {"vm": dict(public_vm(record), existed=True)}


def op_vm_leftovers(module, store, params):
    """Force-removes what a deleted VM may leave behind: held BDFs (NVMEs, wipe pending or not, are
    wiped first), attached volumes, IPs."""
    name = instance_name(params)
    if existing_vm(store, name, params) is not None:
        raise SimError("VM %s still exists; delete it first" % name, "still_exists")
    released, wiped = [], []
    for worker, held in hw.held_by(store, name).items():
        mine = [b for b, h in held.items() if not params["sliver_id"] or h.get("sliver_id") == params["sliver_id"]]
        for bdf in mine:
            # Wipe recorded before the release: a drive is never free without one.
            if hw.is_wiped_type(store, worker, bdf):
                wiped.append(hw.record_wipe(store, worker, bdf, name, params["sliver_id"], "leftover"))
        released.extend(hw.release(store, worker, mine, name))
    volumes = []
    for vol in hw.volumes_of(store, name):
        vol.update(attached_to=None, sliver_id=None, guest_device=None)
        store.put_record(hw.VOLUME_KIND, vol["name"], vol)
        volumes.append(vol["name"])
    ips = store.release_ips("vm/" + name)
    changed = bool(released or volumes or ips)
    return changed, {"leftovers": {"released_bdfs": sorted(released), "wiped": wiped,
                                   "detached_volumes": volumes, "released_ips": ips}}


def op_vm_list(module, store, params):
    """Every VM record, as the hypervisor lists its domains (the orphan audit). Changes nothing."""
    vms = []
    for record in store.records(VM_KIND):
        vms.append(dict((k, record.get(k)) for k in ("instance_name", "sliver_id", "name", "worker", "management_ip",
                                                       "state", "created_at", "domain")))
    return False, {"vms": vms}


OPS = {
    "vm_validate": op_vm_validate,
    "vm_list": op_vm_list,
    "vm_create": op_vm_create,
    "vm_get": op_vm_get,
    "vm_wait_ssh": op_vm_wait_ssh,
    "vm_reboot": op_vm_reboot,
    "vm_post_boot": op_vm_post_boot,
    "vm_ssh_keys": op_vm_ssh_keys,
    "vm_probe": op_vm_probe,
    "vm_delete": op_vm_delete,
    "vm_leftovers": op_vm_leftovers,
    "vm_mark_failed": op_vm_mark_failed,
}
