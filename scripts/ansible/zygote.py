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

What Ansible fixes at import, and how a child undoes it (tested in
test/integration/warm-runner-isolation.test.ts):
- settings read from the environment and ansible.cfg (ansible.constants): the
  child reloads ansible.constants from its own environment and cwd;
- values copied from settings into classes and module globals at import
  (FieldAttribute defaults, inventory ignore patterns, display's log file and
  colours, ...): found by reading the source of every loaded ansible module;
  if one of them differs from the zygote's, the child execs the real
  ansible-playbook instead (same pid, same session: a bare run);
- plugin search paths given to the plugin loaders at import: reset from the
  rebuilt settings, with the loaders' caches;
- the atexit handler that removes the zygote's local temp dir: cleared in the
  child, which registers its own when it rebuilds its settings;
- multiprocessing locks taken while writing module payloads
  (action_write_locks), shared by every fork: re-created per child;
- the random prefix of play and task ids (ansible.utils.vars), drawn at
  import: drawn again per child;
- ansible.builtin's routing table is parsed once, in the zygote (a cache the
  collection loader allows for; served only for the same file bytes);
- display's lock-wrapped stdout: the child keeps the wrapped objects and
  replaces the file descriptors under them (dup2), so nothing is re-wrapped.
"""

import ast
import atexit
import importlib
import json
import os
import select
import signal
import socket
import sys
import time

CONTROL_FD = 3
ZYGOTE_MODULES = set()

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


# ---------------------------------------------------------------- import-time settings

def import_time_settings():
    """Names of settings (ansible.constants) that some loaded ansible module reads outside a function."""
    names = set()
    for name, module in list(sys.modules.items()):
        if not (name == 'ansible' or name.startswith('ansible.')) or name == 'ansible.constants':
            continue
        path = getattr(module, '__file__', None)
        if not path or not path.endswith('.py'):
            continue
        try:
            with open(path, 'rb') as f:
                tree = ast.parse(f.read())
        except (OSError, SyntaxError, ValueError):
            continue
        _collect(tree, names, name == 'ansible.plugins.loader')
    return names


def _collect(tree, names, is_loader):
    def visit(node, in_function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function = True
        if not in_function:
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == 'C' and node.attr.isupper():
                names.add(node.attr)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'getattr'
                  and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id == 'C'
                  and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                names.add(node.args[1].value)
            elif isinstance(node, ast.ImportFrom) and node.module == 'ansible.constants':
                names.update(a.name for a in node.names if a.name.isupper())
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)
    visit(tree, False)


def loader_settings():
    """Plugin loader global name -> the setting its search path came from (ansible/plugins/loader.py, module level)."""
    import ansible.plugins.loader as loader_module
    with open(loader_module.__file__, 'rb') as f:
        tree = ast.parse(f.read())
    found = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and len(node.value.args) >= 3):
            arg = node.value.args[2]
            if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == 'C':
                found[node.targets[0].id] = arg.attr
    return found


def snapshot(names):
    from ansible import constants as C
    return {n: repr(getattr(C, n, None)) for n in names}


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


# ---------------------------------------------------------------- the child

def run_child(request, state):
    """In the forked child: become a bare ansible-playbook run; never returns."""
    code = 250
    try:
        os.setsid()
        os.write(request['_in_session'], b'1')
        os.close(request['_in_session'])
        connect_stdio(request)
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        sys.argv = [request['fallback']] + request['argv']
        sys.path[0] = os.path.dirname(request['fallback'])  # a script's own directory comes first, as for ansible-playbook
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        if not rebuild(state):
            os.execv(request['fallback'], sys.argv)
        from ansible.cli.playbook import main
        profile = os.environ.get('AMH_ZYGOTE_PROFILE')  # diagnostics: cProfile of this run's controller, to that file
        if profile:
            import cProfile
            profiler = cProfile.Profile()
            try:
                code = profiler.runcall(main)
            finally:
                profiler.dump_stats(profile)
        else:
            code = main()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, (int, type(None))):
            sys.stderr.write(f'{stop.code}\n')
    except BaseException as err:  # noqa: BLE001 - the child must end with a code, like an uncaught error would
        import traceback
        traceback.print_exc()
        code = 250 if not isinstance(err, KeyboardInterrupt) else 130
    finish(request, code if code is not None else 0)


def connect_stdio(request):
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    for fd, kind in ((1, 'stdout'), (2, 'stderr')):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(request['socket'])
        s.sendall(f"{request['token']} {kind} {os.getpid()}\n".encode())
        os.dup2(s.fileno(), fd)  # dup2'ed descriptors are inheritable: workers and modules share them, as with pipes
        s.close()
    os.close(CONTROL_FD)
    for fd in request.get('_close', ()):
        os.close(fd)


def rebuild(state):
    """Re-read Ansible's settings from this child's environment. False: a setting fixed at import differs (exec instead)."""
    atexit._clear()  # the zygote's handlers (its own temp dir) are not this run's
    import multiprocessing.util
    atexit.register(multiprocessing.util._exit_function)
    from ansible import constants as C
    importlib.reload(C)  # registers this run's temp dir cleanup
    if snapshot(state['import_time']) != state['import_values']:
        return False
    import ansible.plugins.loader as loader_module
    for name, setting in state['loaders'].items():
        loader = getattr(loader_module, name)
        paths = getattr(C, setting)
        loader.config = paths if isinstance(paths, list) else ([paths] if paths else [])
        loader._extra_dirs = []
        loader._clear_caches()
    ids = sys.modules.get('ansible.utils.vars')
    if ids is not None:  # the prefix of play and task ids is drawn at import: draw this run's own
        import secrets
        ids.random_int = ('%08x' % secrets.randbelow(ids._MAXSIZE))[:8]
        ids.cur_id = 0
    locks = sys.modules.get('ansible.executor.action_write_locks')
    if locks is not None:
        from ansible.utils.multiprocessing import context
        for key in list(locks.action_write_locks):
            locks.action_write_locks[key] = context.Lock()
    return True


def finish(request, code):
    report = os.environ.get('AMH_ZYGOTE_IMPORTS_REPORT')  # diagnostics: what a run imported that the zygote had not
    if report:
        try:
            with open(report, 'a') as f:
                f.write('\n'.join(sorted(set(sys.modules) - ZYGOTE_MODULES)) + '\n')
        except OSError:
            pass
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream cannot be flushed; the code still counts
                pass
        try:
            with open(request['exit_file'], 'w') as f:
                f.write(str(code))
        except OSError:
            pass
        os._exit(code & 0xFF)


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
           'import_time_settings': len(state['import_time'])})

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
