"""The imports of Ansible's own module_utils, parsed once in the zygote.

Every run builds each module's AnsiballZ payload anew (Ansible caches payloads
under the run's own local temp dir), and two thirds of that build is parsing
the module_utils sources it bundles (ansible.module_utils.basic and about 30
more) to find what they import: 80-140 ms of CPU per module per run. Those
files come with Ansible and no setting changes them, so the zygote parses them
once and every child it forks gets the result.

What makes it safe (test/integration/warm-runner-deps.test.ts):
- an answer is served only for the same file bytes, the same module name and
  package flag it was computed for: a file that differs in any byte is parsed,
  as in a bare run;
- only the parse is skipped: Ansible still looks up every import on the run's
  own module_utils paths and reads every file it bundles, so what a run's
  settings decide (ANSIBLE_MODULE_UTILS, collections) stays the run's own;
- it is installed only when recursive_finder calls compile and ModuleDepFinder
  the way this code expects (ansible-core 2.18's module_common); otherwise
  runs parse as they always did.
"""

import ast
import inspect
import os

# How recursive_finder (ansible/executor/module_common.py) parses a module_utils file and reads its imports.
EXPECTED_CALLS = (
    "tree = compile(module_info.source_code, '<unknown>', 'exec', ast.PyCF_ONLY_AST)",
    "finder = ModuleDepFinder('.'.join(module_info.fq_name_parts), tree, module_info.is_package)",
)


class _Known:
    """Stands in for the parsed tree of a source whose imports are known: only ModuleDepFinder (patched) takes it."""
    __slots__ = ('source',)

    def __init__(self, source):
        self.source = source


def package_files(root, package):
    """(path, dotted name, is package init) of every .py file under root, the directory of `package`."""
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            is_package = parts[-1] == '__init__'
            if is_package:
                parts = parts[:-1]
            yield path, '.'.join([package] + parts), is_package


def learn(module_common, files):
    """(source bytes, dotted name, is package init) -> (submodules, optional imports), found by Ansible's own finder."""
    memo = {}
    for path, name, is_package in files:
        try:
            with open(path, 'rb') as f:
                source = f.read()
            finder = module_common.ModuleDepFinder(name, compile(source, '<unknown>', 'exec', ast.PyCF_ONLY_AST), is_package)
        except (OSError, SyntaxError, ValueError):
            continue  # a run meets the same error (or never bundles the file)
        memo[(source, name, is_package)] = (frozenset(finder.submodules), frozenset(finder.optional_imports))
    return memo


def install(module_common, memo):
    """Serve recursive_finder's parses from memo. Returns why not when module_common is not the expected one."""
    try:
        source = inspect.getsource(module_common.recursive_finder)
    except (OSError, TypeError, AttributeError) as err:
        return f'recursive_finder unreadable: {err}'
    missing = [call for call in EXPECTED_CALLS if call not in source]
    if missing:
        return f'recursive_finder does not read {missing[0]!r}'
    finder_class = module_common.ModuleDepFinder
    real_init = finder_class.__init__
    known_sources = {key[0] for key in memo}

    def compile_(source, filename, mode, flags=0, *args, **kwargs):
        if flags == ast.PyCF_ONLY_AST and not args and not kwargs and isinstance(source, bytes) and source in known_sources:
            return _Known(source)
        return compile(source, filename, mode, flags, *args, **kwargs)

    # The class stays (its __init__ names itself in super()); only its constructor learns to take a _Known.
    def init(self, module_fqn, tree, is_pkg_init=False, *args, **kwargs):
        if isinstance(tree, _Known):
            known = memo.get((tree.source, module_fqn, bool(is_pkg_init)))
            if known is not None and not args and not kwargs:
                # What recursive_finder reads, as fresh sets: no run changes the memo.
                self.submodules = set(known[0])
                self.optional_imports = set(known[1])
                self.module_fqn = module_fqn
                self.is_pkg_init = is_pkg_init
                return
            tree = compile(tree.source, '<unknown>', 'exec', ast.PyCF_ONLY_AST)
        real_init(self, module_fqn, tree, is_pkg_init, *args, **kwargs)

    module_common.compile = compile_  # a module global comes before the builtin: only module_common's calls see it
    finder_class.__init__ = init
    return None


def memoize(module_common):
    """Parse every module_utils file Ansible ships and serve those parses. Returns (files learnt, reason not installed)."""
    import ansible.module_utils as module_utils
    memo = learn(module_common, package_files(os.path.dirname(module_utils.__file__), 'ansible.module_utils'))
    return len(memo), install(module_common, memo)
