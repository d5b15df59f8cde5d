#!/usr/bin/env python3
# Prints {"<host bdf>": "<guest bdf>", ...} for the PCI devices passed through
# to a libvirt domain, read from `virsh dumpxml`. Run on the worker by the
# vm_pci/vm_probe playbooks (ansible.builtin.script). Usage: hostdev_map.py DOMAIN
import json
import subprocess
import sys
import xml.etree.ElementTree as ET


def bdf(address):
    return "%04x:%02x:%02x.%x" % tuple(int(address.get(k), 16) for k in ("domain", "bus", "slot", "function"))


def main(domain):
    root = ET.fromstring(subprocess.check_output(["virsh", "dumpxml", domain]))
    found = {}
    for dev in root.findall("./devices/hostdev") + root.findall("./devices/interface[@type='hostdev']"):
        source = dev.find("./source/address")
        guest = dev.find("./address")
        if source is not None:
            found[bdf(source)] = bdf(guest) if guest is not None else None
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1])
