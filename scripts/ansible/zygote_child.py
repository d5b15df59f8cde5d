"""The warm runner's child (scripts/ansible/zygote.py forks it): becomes a bare ansible-playbook run.

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
import os
import signal
import socket
import sys

CONTROL_FD = 3
# Modules the zygote had imported when it became ready (filled by zygote.py): a run's import report leaves them out.
ZYGOTE_MODULES = set()


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


