# -*- coding: utf-8 -*-
# Components of simulated VMs: PCI passthrough (GPU, SmartNIC, SharedNIC,
# FPGA, NVME), volumes (Storage), NVME wipes, and the guest-side view (guest
# BDFs, interface names) that a real handler discovers inside the VM.
# Guest addresses are made up deterministically: each passed-through device
# gets the lowest free guest bus from 0x07 (a multi-function card keeps its
# functions on one bus), each NIC function the lowest free ethN (N >= 1;
# eth0 is management), each NVME /dev/nvmeKn1, each volume /dev/vdX.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.sim_store import SimError, check_name
from ansible.module_utils import sim_hardware as hw
from ansible.module_utils.sim_vm import NIC_TYPES, PCI_TYPES, existing_vm, instance_name, require_vm, save

FIRST_GUEST_BUS = 0x07


def component_param(params):
    comp = params["component"] or {}
    if not comp.get("name") or not comp.get("type"):
        raise SimError("component needs a name and a type, got %r" % (comp,), "invalid_argument")
    check_name(comp["name"], "component name")
    return comp


def public_component(comp):
    return dict(comp)


def _guest_buses(record):
    return set(int(gb.split(":")[1], 16) for c in record["components"].values() for gb in c.get("guest_bdfs", []))


def _lowest_free(used, start):
    n = start
    while n in used:
        n += 1
    return n


def _guest_functions(store, record, comp, devices):
    """[{bdf, guest_bdf, mac, guest_interface, guest_device}] in attach order."""
    used_buses = _guest_buses(record)
    used_eth = set(int(f["guest_interface"][3:]) for c in record["components"].values()
                   for f in c.get("functions", []) if f.get("guest_interface"))
    used_nvme = set(int(f["guest_device"][9:-2]) for c in record["components"].values()
                    for f in c.get("functions", []) if (f.get("guest_device") or "").startswith("/dev/nvme"))
    macs = comp.get("macs") or []
    card_bus = {}
    functions = []
    for i, bdf in enumerate(comp["bdfs"]):
        dev = devices[i]
        card = dev.get("card") if comp["type"] == "FPGA" else None
        if card and card in card_bus:
            bus = card_bus[card]  # multi-function: same guest slot, the host's function number
        else:
            bus = _lowest_free(used_buses, FIRST_GUEST_BUS)
            used_buses.add(bus)
            if card:
                card_bus[card] = bus
        func = bdf.rsplit(".", 1)[1] if card else "0"
        entry = {"bdf": bdf, "guest_bdf": "0000:%02x:00.%s" % (bus, func), "mac": None,
                 "guest_interface": None, "guest_device": None}
        if comp["type"] in NIC_TYPES:
            entry["mac"] = (macs[i] if i < len(macs) and macs[i] else dev.get("mac") or "").lower() or None
            eth = _lowest_free(used_eth, 1)
            used_eth.add(eth)
            entry["guest_interface"] = "eth%d" % eth
        if comp["type"] == "NVME":
            k = _lowest_free(used_nvme, 0)
            used_nvme.add(k)
            entry["guest_device"] = "/dev/nvme%dn1" % k
        functions.append(entry)
    return functions


def _nic_interfaces(comp, functions):
    """Pairs the requested interfaces with NIC functions: by MAC first, then in order."""
    given = list(comp.get("interfaces") or [])
    paired = {}
    for f in functions:
        match = next((x for x in given if x.get("mac") and f["mac"] and x["mac"].lower() == f["mac"]), None)
        if match is not None:
            paired[f["bdf"]] = match
            given.remove(match)
    out = []
    for i, f in enumerate(functions):
        want = paired.get(f["bdf"]) or (given.pop(0) if given else {"name": "%s-p%d" % (comp["name"], i + 1)})
        out.append({"name": want["name"], "bdf": f["bdf"], "mac": f["mac"], "guest_interface": f["guest_interface"],
                    "device": want.get("device"), "port": want.get("port"), "vlan": vlan_tag(want.get("vlan")),
                    "ipv4": None, "ipv6": None, "configured_interface": None, "auto_config": False})
    return out


def vlan_tag(value):
    if value is None or value == "":
        return None
    vlan = int(value)
    if not 1 <= vlan <= 4094:
        raise SimError("VLAN %r is outside 1..4094" % (value,), "invalid_argument")
    return vlan


def op_component_attach(module, store, params):
    record = require_vm(store, params)
    comp = component_param(params)
    name, worker = record["instance_name"], record["worker"]
    if comp["type"] not in PCI_TYPES:
        raise SimError("component %s: type %s is not a PCI device (%s)" % (comp["name"], comp["type"], ", ".join(PCI_TYPES)),
                       "invalid_argument")
    bdfs = comp.get("bdfs") or []
    if not bdfs:
        raise SimError("component %s (%s) has no BDFs to attach" % (comp["name"], comp["type"]), "invalid_argument")
    devices = [hw.device(store, worker, b) for b in bdfs]
    for bdf, dev in zip(bdfs, devices):
        if dev["type"] != comp["type"]:
            raise SimError("PCI device %s on %s is a %s, not a %s" % (bdf, worker, dev["type"], comp["type"]),
                           "device_type_mismatch", bdf=bdf)
        if comp["type"] == "FPGA" and dev.get("card"):
            missing = [b for b in hw.card_functions(store, worker, dev["card"]) if b not in bdfs]
            if missing:
                raise SimError("multi-function FPGA %s needs all its functions together; missing %s"
                               % (dev["card"], ", ".join(missing)), "invalid_argument")
    existing = record["components"].get(comp["name"])
    if existing is not None:
        if sorted(existing.get("bdfs", [])) == sorted(bdfs):
            hw.check_free(store, worker, bdfs, name, comp["name"])
            hw.hold(store, worker, bdfs, name, record["sliver_id"], comp["name"])  # heals a lost host-side hold
            return False, {"component": public_component(existing)}
        raise SimError("component %s is already attached with BDFs %s" % (comp["name"], ", ".join(existing["bdfs"])),
                       "component_conflict")
    hw.check_free(store, worker, bdfs, name, comp["name"])
    functions = _guest_functions(store, record, comp, devices)
    entry = {"name": comp["name"], "type": comp["type"], "model": comp.get("model") or devices[0].get("model"),
             "bdfs": list(bdfs), "guest_bdfs": [f["guest_bdf"] for f in functions], "functions": functions,
             "interfaces": _nic_interfaces(comp, functions) if comp["type"] in NIC_TYPES else [],
             "attached_at": hw.now()}
    hw.hold(store, worker, bdfs, name, record["sliver_id"], comp["name"])
    record["components"][comp["name"]] = entry
    save(store, record)
    return True, {"component": public_component(entry)}


def op_component_detach(module, store, params):
    """Detaches this VM's component (only BDFs this VM holds); detaching what is gone is fine.

    A device that holds tenant data (hw.WIPED_TYPES) leaves the guest but stays
    held, wipe pending, in the same write: it is never free before its wipe.
    """
    name = instance_name(params)
    comp = component_param(params)
    record = existing_vm(store, name, params)
    recorded = record["components"].get(comp["name"]) if record else None
    worker = record["worker"] if record else params["worker"]
    bdfs = (recorded or comp).get("bdfs") or []
    pending = [b for b in bdfs if worker and hw.is_wiped_type(store, worker, b)]
    freed = hw.release(store, worker, [b for b in bdfs if b not in pending], name) if worker else []
    kept = hw.mark_wipe_pending(store, worker, pending, name) if pending else []
    if recorded is not None:
        del record["components"][comp["name"]]
        save(store, record)
    result = {"name": comp["name"], "type": comp["type"], "bdfs": bdfs, "detached_bdfs": sorted(freed + kept),
              "wipe_pending": kept, "existed": recorded is not None}
    return bool(freed or kept) or recorded is not None, {"component": result}


def op_nvme_wipe(module, store, params):
    """Wipes a detached NVME's drives and frees them: the wipe is recorded first, so a drive is
    never free without one. Refuses a drive still attached to a VM (never wipe someone's live
    disk) and one waiting for another VM's wipe. Wiping a free drive again is fine."""
    name = instance_name(params)
    comp = component_param(params)
    record = existing_vm(store, name, params)
    worker = params["worker"] or (record or {}).get("worker")
    if not worker:
        raise SimError("nvme wipe of %s needs the worker" % comp["name"], "invalid_argument")
    bdfs = comp.get("bdfs") or []
    for bdf in bdfs:
        if hw.device(store, worker, bdf)["type"] != "NVME":
            raise SimError("PCI device %s on %s is not an NVME" % (bdf, worker), "device_type_mismatch", bdf=bdf)
        h = hw.holder(store, worker, bdf)
        if hw.attached(h):
            raise SimError("NVME %s on %s is still attached to VM %s; detach it first"
                           % (bdf, worker, h.get("instance_name")), "bdf_in_use", bdf=bdf)
        if h is not None and h.get("instance_name") != name:
            raise SimError("NVME %s on %s waits for the wipe of VM %s, not %s"
                           % (bdf, worker, h.get("instance_name"), name), "wipe_pending", bdf=bdf, holder=h)
    wiped = [hw.record_wipe(store, worker, bdf, name, params["sliver_id"], "delete") for bdf in bdfs]
    hw.release(store, worker, bdfs, name)
    return bool(wiped), {"nvme": {"worker": worker, "wiped": wiped}}


def _volume_name(params, comp):
    return check_name(params["volume_name"] or comp["name"], "volume name")


def op_volume_attach(module, store, params):
    record = require_vm(store, params)
    comp = component_param(params)
    name = record["instance_name"]
    vol_name = _volume_name(params, comp)
    vol = hw.volume(store, vol_name)
    existing = record["components"].get(comp["name"])
    if vol.get("attached_to") not in (None, name):
        raise SimError("volume %s is already attached to VM %s" % (vol_name, vol["attached_to"]), "volume_in_use")
    if existing is not None and vol.get("attached_to") == name:
        return False, {"component": public_component(existing)}
    used = set(c.get("guest_device") for c in record["components"].values() if c.get("type") == "Storage")
    letter = next(ch for ch in "bcdefghijklmnopqrstuvwxyz" if "/dev/vd" + ch not in used)
    entry = {"name": comp["name"], "type": "Storage", "model": comp.get("model"), "volume": vol_name,
             "guest_device": "/dev/vd" + letter, "mount_point": None, "bdfs": [], "guest_bdfs": [],
             "functions": [], "interfaces": [], "attached_at": hw.now()}
    vol.update(attached_to=name, sliver_id=record["sliver_id"], guest_device=entry["guest_device"])
    store.put_record(hw.VOLUME_KIND, vol_name, vol)
    record["components"][comp["name"]] = entry
    save(store, record)
    return True, {"component": public_component(entry)}


def op_volume_detach(module, store, params):
    name = instance_name(params)
    comp = component_param(params)
    record = existing_vm(store, name, params)
    recorded = record["components"].get(comp["name"]) if record else None
    vol_name = (recorded or {}).get("volume") or _volume_name(params, comp)
    vol = hw.volume(store, vol_name, create=False)
    detached = vol is not None and vol.get("attached_to") == name
    if detached:
        vol.update(attached_to=None, sliver_id=None, guest_device=None)
        store.put_record(hw.VOLUME_KIND, vol_name, vol)
    if recorded is not None:
        del record["components"][comp["name"]]
        save(store, record)
    result = {"name": comp["name"], "type": "Storage", "volume": vol_name, "detached": detached,
              "existed": recorded is not None}
    return detached or recorded is not None, {"component": result}


OPS = {
    "component_attach": op_component_attach,
    "component_detach": op_component_detach,
    "nvme_wipe": op_nvme_wipe,
    "volume_attach": op_volume_attach,
    "volume_detach": op_volume_detach,
}
