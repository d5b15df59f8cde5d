# -*- coding: utf-8 -*-
# Configuration inside simulated guests: NIC addresses and VLAN
# sub-interfaces (auto_config), the stitching info of each NIC port
# (device, port, VLAN), and volume mounts (auto_mount).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.module_utils.sim_store import SimError
from ansible.module_utils import sim_hardware as hw
from ansible.module_utils.sim_components import vlan_tag, component_param, public_component
from ansible.module_utils.sim_vm import NIC_TYPES, require_vm, save


def _address(value, version, default_prefix, where):
    """'10.0.0.2' or '10.0.0.2/24' -> '10.0.0.2/24' (the reference's default prefixes: /24, /64)."""
    if not value:
        return None
    text = value if "/" in value else "%s/%d" % (value, default_prefix)
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise SimError("%s: %r is not an IPv%d address" % (where, value, version), "invalid_argument")
    if iface.version != version:
        raise SimError("%s: %r is not an IPv%d address" % (where, value, version), "invalid_argument")
    return str(iface)


def _recorded_component(record, comp):
    recorded = record["components"].get(comp["name"])
    if recorded is None:
        raise SimError("component %s is not attached to VM %s" % (comp["name"], record["instance_name"]), "not_found")
    return recorded


def op_nic_config(module, store, params):
    """Applies each requested interface: stitching info always, addresses and VLAN sub-interface with auto_config."""
    record = require_vm(store, params)
    comp = component_param(params)
    recorded = _recorded_component(record, comp)
    if recorded["type"] not in NIC_TYPES:
        raise SimError("component %s is a %s, not a NIC" % (comp["name"], recorded["type"]), "invalid_argument")
    before = [dict(i) for i in recorded["interfaces"]]
    for want in comp.get("interfaces") or []:
        have = next((i for i in recorded["interfaces"] if i["name"] == want.get("name")), None)
        if have is None and want.get("mac"):
            have = next((i for i in recorded["interfaces"] if i["mac"] == want["mac"].lower()), None)
        if have is None:
            raise SimError("interface %s is not a port of component %s (ports: %s)"
                           % (want.get("name"), comp["name"], ", ".join(i["name"] for i in recorded["interfaces"])),
                           "invalid_argument")
        where = "%s/%s" % (comp["name"], have["name"])
        have.update(device=want.get("device"), port=want.get("port"), vlan=vlan_tag(want.get("vlan")))
        if not want.get("auto_config"):
            continue
        if not record.get("post_boot"):
            raise SimError("cannot configure %s: the post-boot configuration has not run in VM %s"
                           % (where, record["instance_name"]), "not_ready")
        have["auto_config"] = True
        have["ipv4"] = _address(want.get("ipv4"), 4, 24, where)
        have["ipv6"] = _address(want.get("ipv6"), 6, 64, where)
        # A tagged port gets a sub-interface <ethN>.<vlan>, as nmcli would create it.
        have["configured_interface"] = (
            "%s.%d" % (have["guest_interface"], have["vlan"]) if have["vlan"] else have["guest_interface"])
    changed = before != recorded["interfaces"]
    if changed:
        recorded["configured_at"] = hw.now()
        save(store, record)
    return changed, {"component": public_component(recorded)}


def op_storage_mount(module, store, params):
    """Mounts the component's volume at /<volume name>."""
    record = require_vm(store, params)
    comp = component_param(params)
    recorded = _recorded_component(record, comp)
    if recorded["type"] != "Storage":
        raise SimError("component %s is a %s, not Storage" % (comp["name"], recorded["type"]), "invalid_argument")
    vol = hw.volume(store, recorded["volume"], create=False)
    if vol is None or vol.get("attached_to") != record["instance_name"]:
        raise SimError("volume %s is not attached to VM %s" % (recorded["volume"], record["instance_name"]), "not_found")
    mount_point = "/" + recorded["volume"]
    if recorded.get("mount_point") == mount_point:
        return False, {"component": public_component(recorded)}
    recorded["mount_point"] = mount_point
    save(store, record)
    return True, {"component": public_component(recorded)}


OPS = {
    "nic_config": op_nic_config,
    "storage_mount": op_storage_mount,
}
