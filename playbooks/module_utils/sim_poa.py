# -*- coding: utf-8 -*-
# Operations on an active simulated VM (the reference's POA): cpuinfo,
# numainfo, cpupin, numatune and PCI rescan. (reboot and addkey/removekey are
# VM ops in sim_vm.py: they have playbooks of their own.) Each returns
# {"poa": {"operation", "info", "message"}}; info is what the reply carries as JSON.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.sim_store import SimError
from ansible.module_utils import sim_hardware as hw
from ansible.module_utils.sim_vm import VM_KIND, require_vm, save


def format_cpus(cpus):
    """[0, 1, 2, 5] -> "0-2,5" (Linux cpulist)."""
    out, run = [], []
    for cpu in sorted(set(cpus)):
        if run and cpu == run[-1] + 1:
            run.append(cpu)
            continue
        if run:
            out.append("%d-%d" % (run[0], run[-1]) if len(run) > 1 else str(run[0]))
        run = [cpu]
    if run:
        out.append("%d-%d" % (run[0], run[-1]) if len(run) > 1 else str(run[0]))
    return ",".join(out)


def placement(ram, nodes):
    """Guest memory (GiB) spread over NUMA nodes: evenly, the remainder on the first ones."""
    nodes = sorted(nodes)
    share, extra = divmod(int(ram), len(nodes))
    return dict((str(n), share + (1 if i < extra else 0)) for i, n in enumerate(nodes))


def _vm_placement(vm, nodes):
    return placement(vm["flavor"]["ram"], vm.get("numa_node_set") or [n["node"] for n in nodes])


def _free_memory(store, record, nodes):
    """Per-node memory not placed by the worker's other VMs."""
    free = dict((str(n["node"]), n["memory"]) for n in nodes)
    for vm in store.records(VM_KIND):
        if vm.get("worker") != record["worker"] or vm["instance_name"] == record["instance_name"]:
            continue
        for node, gib in _vm_placement(vm, nodes).items():
            free[node] = free.get(node, 0) - gib
    return free


def _cpuinfo(store, record, params, nodes):
    pins = record.get("cpu_pins") or {}
    everything = format_cpus(c for n in nodes for c in n["cpus"])
    vcpus = [{"vcpu": v, "cpu_affinity": str(pins[str(v)]) if str(v) in pins else everything, "pinned": str(v) in pins}
             for v in range(int(record["flavor"]["core"]))]
    return False, {"domain": record["domain"], "vcpus": vcpus,
                   "host": {"cores": sum(len(n["cpus"]) for n in nodes), "numa_nodes": len(nodes)}}


def _numainfo(store, record, params, nodes):
    free = _free_memory(store, record, nodes)
    mine = _vm_placement(record, nodes)
    host = [{"node": n["node"], "cpus": format_cpus(n["cpus"]), "memory_gb": n["memory"],
             "free_memory_gb": free[str(n["node"])] - mine.get(str(n["node"]), 0)} for n in nodes]
    return False, {"host": {"nodes": host},
                   "vm": {"domain": record["domain"], "memory_gb": record["flavor"]["ram"],
                          "node_set": record.get("numa_node_set") or [], "placement_gb": mine}}


def _cpupin(store, record, params, nodes):
    host_cpus = set(c for n in nodes for c in n["cpus"])
    vcpus = int(record["flavor"]["core"])
    mapping = params["vcpu_cpu_map"] or []
    if not mapping:
        raise SimError("cpupin needs vcpu_cpu_map", "invalid_argument")
    pins = dict(record.get("cpu_pins") or {})
    for pair in mapping:
        vcpu, cpu = int(pair["vcpu"]), int(pair["cpu"])
        if not 0 <= vcpu < vcpus:
            raise SimError("vcpu %d does not exist: the VM has vcpus 0..%d" % (vcpu, vcpus - 1), "invalid_argument")
        if cpu not in host_cpus:
            raise SimError("cpu %d does not exist on %s (cpus %s)" % (cpu, record["worker"], format_cpus(host_cpus)),
                           "invalid_argument")
        pins[str(vcpu)] = cpu
    changed = pins != (record.get("cpu_pins") or {})
    record["cpu_pins"] = pins
    return changed, {"vcpu_pins": [{"vcpu": int(v), "cpu": c} for v, c in sorted(pins.items(), key=lambda p: int(p[0]))]}


def _numatune(store, record, params, nodes):
    known = dict((n["node"], n) for n in nodes)
    try:
        wanted = sorted(set(int(n) for n in params["node_set"] or []))
    except ValueError:
        raise SimError("node_set must list NUMA node numbers, got %r" % (params["node_set"],), "invalid_argument")
    if not wanted:
        raise SimError("numatune needs node_set", "invalid_argument")
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SimError("NUMA node(s) %s do not exist on %s (nodes %s)"
                       % (unknown, record["worker"], sorted(known)), "invalid_argument")
    free = _free_memory(store, record, nodes)
    available = sum(free[str(n)] for n in wanted)
    if record["flavor"]["ram"] > available:
        raise SimError("NUMA node(s) %s of %s have %d GiB free; the VM needs %d GiB"
                       % (wanted, record["worker"], available, record["flavor"]["ram"]), "no_capacity")
    changed = wanted != (record.get("numa_node_set") or [])
    record["numa_node_set"] = wanted
    return changed, {"node_set": wanted, "placement_gb": placement(record["flavor"]["ram"], wanted)}


def _rescan(store, record, params, nodes):
    wanted = params["bdfs"] or []
    if not wanted:
        raise SimError("rescan needs bdfs", "invalid_argument")
    found = []
    for bdf in wanted:
        hit = None
        for comp in record["components"].values():
            for f in comp.get("functions", []):
                if bdf in (f["bdf"], f["guest_bdf"]):
                    hit = {"bdf": f["bdf"], "guest_bdf": f["guest_bdf"], "component": comp["name"]}
        if hit is None:
            raise SimError("PCI device %s is not attached to VM %s" % (bdf, record["instance_name"]), "not_found")
        found.append(hit)
    record["rescans"] = int(record.get("rescans", 0)) + 1
    return True, {"rescanned": found}


POA = {"cpuinfo": _cpuinfo, "numainfo": _numainfo, "cpupin": _cpupin, "numatune": _numatune, "rescan": _rescan}


def op_vm_poa(module, store, params):
    operation = params["poa_operation"]
    if operation not in POA:
        raise SimError("unknown POA operation %r; known: %s" % (operation, ", ".join(sorted(POA))), "invalid_argument")
    record = require_vm(store, params)
    nodes = hw.numa_nodes(hw.worker_spec(store, record["worker"]))
    changed, info = POA[operation](store, record, params, nodes)
    if changed:
        save(store, record)
    return changed, {"poa": {"operation": operation, "info": info, "message": "%s done" % operation}}


OPS = {"vm_poa": op_vm_poa}
