#!/usr/bin/env python3
# Prints {"<mac>": "<interface name>", ...} of the guest's network links, to
# name the interface each passed-through NIC function became. Run in the VM
# by vm_pci.yml (ansible.builtin.script).
import json
import os

links = {}
for name in os.listdir("/sys/class/net"):
    try:
        with open("/sys/class/net/%s/address" % name) as f:
            links[f.read().strip().lower()] = name
    except OSError:
        pass
print(json.dumps(links))
