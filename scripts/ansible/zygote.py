"""The warm playbook runner's zygote (src/ansible/warm/): imports Ansible's
playbook CLI once, then forks one child per run. Each child is what a bare
`ansible-playbook <argv>` would be: its own session (setsid: its pid is the
process group the service kills on timeout or cancellation), the request's
environment and cwd, stdin /dev/null, stdout and stderr on two connections to
the service's socket, and Ansible's settings rebuilt from that environment.

Protocol (one JSON object per line):
  stdin (requests):  {"id", "argv", "env", "cwd", "socket", "token", "exit_file", "fallback"}
  fd 3 (replies):    {"type": "ready", "pid", "rss_kib", "import_s"}
                     {"type": "started", "id", "pid"}
                     {"type": "exit", "id", "code" | null, "signal" | null}
                     {"type": "error", "id", "message"}  (could not fork: the service falls back)
The child writes its exit code to `exit_file` before it exits, so the code is
known even when this process dies first (the child is then re-parented).

How a child undoes what Ansible fixes at import: zygote_child.py. The imports of
Ansible's own module_utils, parsed once for every run's module payloads: zygote_deps.py.
"""

import importlib
import json
import os
import select
import signal
import sys
import time

import zygote_deps
from zygote_child import CONTROL_FD, ZYGOTE_MODULES, import_time_settings, loader_settings, run_child, snapshot

# Imported during a run after the CLI itself (measured with -X importtime on a
# sim playbook): importing them here spares every run their import.
PRELOAD = [
    'ansible.cli.playbook',
    'ansible.executor.playbook_executor',
    'ansible.executor.task_queue_manager',
    'ansible.executor.task_executor',
    'ansible.executor.process.worker',
    'ansible.executor.module_common',
    'ansible.executor.interpreter_discovery',
    'ansible.executor.powershell.module_manifest',
    'ansible.playbook.handler_task_include',
    'ansible.playbook.included_file',
    'ansible.playbook.role_include',
    'ansible.plugins.strategy',
    'ansible.plugins.strategy.linear',
    'ansible.plugins.callback',
    'ansible.plugins.action',
    'ansible.plugins.connection',
    'ansible.plugins.connection.local',
    'ansible.plugins.shell',
    'ansible.plugins.shell.sh',
    'ansible.plugins.become',
    'ansible.plugins.inventory',
    'ansible.plugins.vars',
    'ansible.plugins.cache',
    'ansible.plugins.filter.core',
    'ansible.plugins.test.core',
    'ansible.module_utils.facts.ansible_collector',
    'ansible.module_utils.facts.default_collectors',
    'ansible.parsing.utils.jsonify',
    'ansible.utils.hashing',
    'ansible.utils.shlex',
    # Loaded by every run (each loader looks at all plugins of its kind: callbacks, connections, inventories,
    # shells, become); the loaders take a builtin plugin's module from sys.modules when it is there.
    'ansible.modules',
    'ansible.plugins.action.command',
    'ansible.plugins.action.shell',
    'ansible.plugins.action.normal',
    'ansible.plugins.action.debug',
    'ansible.plugins.action.set_stats',
    'ansible.plugins.action.set_fact',
    'ansible.plugins.action.fail',
    'ansible.plugins.action.assert',
    'ansible.plugins.become.runas',
    'ansible.plugins.become.su',
    'ansible.plugins.become.sudo',
    'ansible.plugins.callback.default',
    'ansible.plugins.callback.junit',
    'ansible.plugins.callback.minimal',
    'ansible.plugins.callback.oneline',
    'ansible.plugins.callback.tree',
    'ansible.plugins.connection.paramiko_ssh',
    'ansible.plugins.connection.psrp',
    'ansible.plugins.connection.ssh',
    'ansible.plugins.connection.winrm',
    'ansible.plugins.doc_fragments.connection_pipelining',
    'ansible.plugins.doc_fragments.default_callback',
    'ansible.plugins.doc_fragments.result_format_callback',
    'ansible.plugins.doc_fragments.shell_common',
    'ansible.plugins.doc_fragments.shell_windows',
    'ansible.plugins.doc_fragments.vars_plugin_staging',
    'ansible.plugins.inventory.auto',
    'ansible.plugins.inventory.host_list',
    'ansible.plugins.inventory.ini',
    'ansible.plugins.inventory.script',
    'ansible.plugins.inventory.toml',
    'ansible.plugins.inventory.yaml',
    'ansible.plugins.shell.cmd',
    'ansible.plugins.shell.powershell',
    'ansible.plugins.vars.host_group_vars',
    'ansible.utils._junit_xml',
    'xml.dom.minidom',
    'concurrent.futures.thread',
    'multiprocessing.pool',
    'multiprocessing.popen_fork',
    'multiprocessing.synchronize',
    'pty',
    'ssl',
    'xml.etree.ElementTree',
    'tomllib',
]


def reply(message):
    os.write(CONTROL_FD, (json.dumps(message) + '\n').encode())


def rss_kib(pid='self'):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def preparse_builtin_routing():
    """Parse ansible.builtin's routing table (ansible/config/ansible_builtin_runtime.yml, shipped with Ansible: no
    setting changes it) once: every run's collection loader asks for it, and parsing it was a fifth of a warm run's
    controller CPU. The loader's parser is documented as replaceable by a caching one; the table is served only for
    the same bytes, and each child gets its own copy of it (fork), so no run sees another's changes."""
    try:
        import ansible
        from ansible.utils.collection_loader import _collection_finder as finder
        path = os.path.join(os.path.dirname(ansible.__file__), 'config', 'ansible_builtin_runtime.yml')
        with open(path, 'rb') as f:
            raw = f.read()
        parse = finder._meta_yml_to_dict
        parsed = parse(raw, ('ansible.builtin', 'runtime.yml'))
    except Exception:  # noqa: BLE001 - without the cache every run parses it, as a bare run does
        return

    def cached(data, content_id):
        if content_id == ('ansible.builtin', 'runtime.yml') and data == raw:
            return parsed
        return parse(data, content_id)

    finder._meta_yml_to_dict = cached


def memoize_deps():
    """Parse Ansible's own module_utils once for every run's module payloads (zygote_deps.py)."""
    if os.environ.get('AMH_ZYGOTE_DEPS_MEMO') == '0':  # diagnostics: measure runs without it
        return {'files': 0, 'off': 'AMH_ZYGOTE_DEPS_MEMO=0'}
    try:
        import ansible.executor.module_common as module_common
        files, off = zygote_deps.memoize(module_common)
    except Exception as err:  # noqa: BLE001 - without it every run parses, as a bare run does
        return {'files': 0, 'off': f'{type(err).__name__}: {err}'}
    return {'files': files if off is None else 0, 'off': off}


# ---------------------------------------------------------------- the zygote's loop

def main():
    started = time.monotonic()
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional dependency only costs its import per run
            pass
    import threading
    if threading.active_count() != 1:
        sys.stderr.write('zygote: threads running after the imports; forking would be unsafe\n')
        return 3
    preparse_builtin_routing()
    deps = memoize_deps()
    state = {'loaders': loader_settings()}
    # The loaders' paths are reset per child (and follow ANSIBLE_HOME, which is per run): not compared.
    state['import_time'] = import_time_settings() - set(state['loaders'].values())
    state['import_values'] = snapshot(state['import_time'])
    ZYGOTE_MODULES.update(sys.modules)
    import gc
    gc.freeze()  # keeps the children's garbage collector from touching (and copying) the zygote's pages

    wake_r, wake_w = os.pipe()
    state['wake'] = (wake_r, wake_w)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    children = {}
    reply({'type': 'ready', 'pid': os.getpid(), 'rss_kib': rss_kib(), 'import_s': round(time.monotonic() - started, 3),
           'import_time_settings': len(state['import_time']), 'deps_memo': deps})

    buffer = b''
    while True:
        try:
            readable, _, _ = select.select([0, wake_r], [], [])
        except InterruptedError:
            readable = []
        if wake_r in readable:
            os.read(wake_r, 4096)
        reap(children)
        if 0 in readable:
            chunk = os.read(0, 65536)
            if not chunk:
                return 0  # the service closed our stdin: stop (children run on in their own sessions)
            buffer += chunk
            while b'\n' in buffer:
                line, buffer = buffer.split(b'\n', 1)
                if line.strip():
                    serve(json.loads(line), state, children)


def serve(request, state, children):
    # The service kills a run by its process group: say `started` only once the child leads its own session.
    in_session_r, in_session_w = os.pipe()
    try:
        pid = os.fork()
    except OSError as err:
        os.close(in_session_r)
        os.close(in_session_w)
        reply({'type': 'error', 'id': request['id'], 'message': f'fork: {err}'})
        return
    if pid == 0:
        os.close(in_session_r)
        request['_close'] = state['wake']
        request['_in_session'] = in_session_w
        run_child(request, state)
    os.close(in_session_w)
    try:
        os.read(in_session_r, 1)  # b'' when the child died before: its exit is reported as usual
    finally:
        os.close(in_session_r)
    children[pid] = request['id']
    reply({'type': 'started', 'id': request['id'], 'pid': pid})


def reap(children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        run_id = children.pop(pid, None)
        if run_id is None:
            continue
        if os.WIFSIGNALED(status):
            reply({'type': 'exit', 'id': run_id, 'code': None, 'signal': os.WTERMSIG(status)})
        else:
            reply({'type': 'exit', 'id': run_id, 'code': os.waitstatus_to_exitcode(status), 'signal': None})


if __name__ == '__main__':
    sys.exit(main())
