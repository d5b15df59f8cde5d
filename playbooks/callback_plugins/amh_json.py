# am-handlers stdout callback: one JSON object per line, parsed by
# src/ansible/events.ts. Selected with ANSIBLE_STDOUT_CALLBACK=amh_json and
# ANSIBLE_CALLBACK_PLUGINS=<repo>/playbooks/callback_plugins.
#
# Rules: a callback must never break a run (every hook swallows its own
# errors), every line is plain ASCII JSON (ensure_ascii, default=str), and no
# result line exceeds MAX_EVENT bytes, so one chatty module cannot swamp the reader.
# Warnings and errors keep going to stderr through Ansible's Display.
# Works with ansible-core 2.14 .. 2.18 (Python >= 3.9 syntax only).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
    name: amh_json
    type: stdout
    short_description: JSON lines for am-handlers
    description:
      - Prints one JSON object per line for each playbook, play, task, result and the final stats.
"""

import functools
import json
import sys
import threading
import time

from ansible.plugins.callback import CallbackBase

try:
    from ansible.release import __version__ as ANSIBLE_VERSION
except Exception:  # pragma: no cover - never fatal
    ANSIBLE_VERSION = "unknown"

MAX_EVENT = 64 * 1024
MAX_STR = 4 * 1024
MAX_ITEMS = 100
MAX_DEPTH = 8
# Bulky or internal keys the reader never needs (invocation echoes every module arg).
DROP_KEYS = frozenset(("invocation", "stdout_lines", "stderr_lines", "module_args"))
# Kept when a result must be squeezed below MAX_EVENT.
SUMMARY_KEYS = ("msg", "rc", "changed", "failed", "skipped", "unreachable", "skip_reason", "stderr", "stdout")
# Errors are at the end of stderr; everything else is most useful from the start.
TAIL_KEYS = frozenset(("stderr", "module_stderr"))

_write_lock = threading.Lock()


def _cut(text, limit, tail):
    if len(text) <= limit:
        return text
    note = "...[%d chars truncated]..." % (len(text) - limit)
    return note + text[-limit:] if tail else text[:limit] + note


def _trim(value, depth=0, key=None, limit=MAX_STR):
    """A JSON-friendly copy of value with long strings and lists cut."""
    if isinstance(value, str):
        return _cut(value, limit, key in TAIL_KEYS)
    if isinstance(value, bytes):
        return _cut(value.decode("utf-8", "replace"), limit, key in TAIL_KEYS)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= MAX_DEPTH:
        return _cut(str(value), limit, False)
    if isinstance(value, dict):
        return dict(
            (str(k), _trim(v, depth + 1, k, limit))
            for k, v in value.items()
            if k not in DROP_KEYS and not str(k).startswith("_ansible")
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_trim(v, depth + 1, None, limit) for v in list(value)[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append("...[%d items truncated]" % (len(value) - MAX_ITEMS))
        return items
    return _cut(str(value), limit, False)


def _dumps(obj):
    return json.dumps(obj, default=str, ensure_ascii=True, separators=(",", ":"))


def _fit(event):
    """Serialise event, shrinking event['result'] until the line fits MAX_EVENT."""
    line = _dumps(event)
    if len(line) <= MAX_EVENT or not isinstance(event.get("result"), dict):
        return line
    result = event["result"]
    for limit in (1024, 256):
        event["result"] = _trim(result, limit=limit)
        event["truncated"] = True
        line = _dumps(event)
        if len(line) <= MAX_EVENT:
            return line
    event["result"] = dict((k, _trim(result[k], key=k, limit=1024)) for k in SUMMARY_KEYS if k in result)
    return _dumps(event)


def _safe(fn):
    """An exception in a callback must not break the run: report it on stderr and go on."""

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            fn(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - deliberate catch-all
            try:
                sys.stderr.write("amh_json: %s failed: %r\n" % (fn.__name__, exc))
                sys.stderr.flush()
            except Exception:
                pass

    return wrapper


def _count_tasks(play):
    """Tasks of a play that report a task_start: every non-meta task of its blocks and always sections."""
    try:
        blocks = play.compile()
    except Exception:  # noqa: BLE001 - progress is best effort
        return None

    def count(items):
        n = 0
        for item in items or []:
            if hasattr(item, "block"):  # a Block: its tasks and always section (rescue runs only on failure)
                n += count(item.block) + count(item.always)
            elif getattr(item, "action", None) not in _META_ACTIONS:
                n += 1
        return n

    # The implicit "Gathering Facts" task is added by the play iterator, not by compile().
    gather = play.gather_facts
    if gather is None:
        try:
            from ansible import constants as C

            gather = C.DEFAULT_GATHERING != "explicit"
        except Exception:  # noqa: BLE001
            gather = True
    return count(blocks) + (1 if gather else 0)


_META_ACTIONS = frozenset(("meta", "ansible.builtin.meta", "ansible.legacy.meta"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "amh_json"

    def _emit(self, event, **fields):
        record = {"event": event, "ts": round(time.time(), 3)}
        record.update(fields)
        line = _fit(record)
        with _write_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def _result_fields(self, result):
        raw = result._result if isinstance(result._result, dict) else {"msg": str(result._result)}
        fields = {
            "host": result._host.get_name(),
            "task": result._task.get_name().strip(),
            "task_id": result._task._uuid,
            "action": result._task.action,
            "result": _trim(raw),
        }
        if "msg" in raw:
            fields["msg"] = _trim(raw["msg"])
        return fields

    @_safe
    def v2_playbook_on_start(self, playbook):
        self._emit("playbook_start", playbook=playbook._file_name, ansible_version=ANSIBLE_VERSION)

    @_safe
    def v2_playbook_on_play_start(self, play):
        # Live progress: "task n of m" needs m up front. Counted from the compiled
        # play (statically imported tasks included); dynamic includes can make
        # the real number larger, which the reader tolerates.
        self._task_index = 0
        self._emit("play_start", play=play.get_name().strip(), play_id=play._uuid, task_count=_count_tasks(play))

    @_safe
    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_index = getattr(self, "_task_index", 0) + 1
        self._emit(
            "task_start", task=task.get_name().strip(), task_id=task._uuid, action=task.action, task_index=self._task_index
        )

    @_safe
    def v2_runner_on_start(self, host, task):
        # Once per host a task starts on: the host of the progress line.
        self._emit("runner_on_start", host=host.get_name(), task=task.get_name().strip(), task_id=task._uuid)

    @_safe
    def v2_playbook_on_handler_task_start(self, task):
        self._emit("task_start", task=task.get_name().strip(), task_id=task._uuid, action=task.action, handler=True)

    @_safe
    def v2_playbook_on_no_hosts_matched(self):
        self._emit("no_hosts_matched")

    @_safe
    def v2_runner_on_ok(self, result):
        fields = self._result_fields(result)
        self._emit("runner_on_ok", changed=bool(result._result.get("changed", False)), **fields)

    @_safe
    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit("runner_on_failed", ignore_errors=bool(ignore_errors), **self._result_fields(result))

    @_safe
    def v2_runner_on_unreachable(self, result):
        self._emit("runner_on_unreachable", **self._result_fields(result))

    @_safe
    def v2_runner_on_skipped(self, result):
        self._emit("runner_on_skipped", **self._result_fields(result))

    @_safe
    def v2_runner_item_on_ok(self, result):
        self._emit("runner_item_on_ok", item=self._item(result), **self._result_fields(result))

    @_safe
    def v2_runner_item_on_failed(self, result):
        self._emit("runner_item_on_failed", item=self._item(result), **self._result_fields(result))

    @_safe
    def v2_runner_item_on_skipped(self, result):
        self._emit("runner_item_on_skipped", item=self._item(result), **self._result_fields(result))

    @_safe
    def v2_runner_retry(self, result):
        fields = self._result_fields(result)
        fields["attempts"] = result._result.get("attempts")
        fields["retries"] = result._result.get("retries")
        self._emit("runner_retry", **fields)

    def _item(self, result):
        return _trim(self._get_item_label(result._result), limit=256)

    @_safe
    def v2_playbook_on_stats(self, stats):
        # Custom stats are the playbook's answer (e.g. data.vm): never trimmed, so
        # this is the one event that may exceed MAX_EVENT.
        hosts = dict((h, stats.summarize(h)) for h in sorted(stats.processed))
        self._emit("stats", hosts=hosts, custom=getattr(stats, "custom", None) or {})
