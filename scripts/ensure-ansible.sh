#!/usr/bin/env bash
# Make sure an ansible-playbook is available for the playbook runner and print
# its path as the LAST line of stdout (everything else goes to stderr, so
# callers can simply take the last line).
#
# Order, first that works wins (idempotent: a second run is a cheap check):
#   1. $AMH_ANSIBLE_PLAYBOOK, if set and executable;
#   2. <repo>/.venv/bin/ansible-playbook at the versions pinned in
#      requirements-ansible.txt (ansible-core, and the `ansible` collections
#      package the production playbooks are syntax-checked with);
#   3. create/repair <repo>/.venv with a Python >= 3.11 (ansible-core 2.18
#      refuses older controllers) and pip install the pins (~30 s and ~500 MB
#      for the collections on 2 cores, once);
#   4. as root only: Debian's ansible-core (apt-get install -y ansible-core,
#      2.14 on Debian 12), i.e. /usr/bin/ansible-playbook.
#
# Non-interactive (CI=true, no stdin). Optional: AMH_PYTHON=/path/to/python3
# to choose the interpreter for the venv; AMH_MITOGEN=1 to add Mitogen for
# Ansible (requirements-mitogen.txt) in <repo>/var/mitogen (or $AMH_MITOGEN_DIR).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$REPO/requirements-ansible.txt"
VENV="$REPO/.venv"
PIN="$(sed -n 's/^ansible-core==\([0-9.]*\).*/\1/p' "$REQ" | head -n1)"
# The collections package (`ansible==X.Y.Z`), for the production playbooks' syntax check.
COLLECTIONS_PIN="$(sed -n 's/^ansible==\([0-9.]*\).*/\1/p' "$REQ" | head -n1)"

log() { printf 'ensure-ansible: %s\n' "$*" >&2; }
done_with() { ensure_mitogen "$1"; log "using $1"; printf '%s\n' "$1"; exit 0; }

# Opt-in (AMH_MITOGEN=1): Mitogen for Ansible at the version pinned in requirements-mitogen.txt, installed
# with the chosen ansible-playbook's pip into its own directory ($AMH_MITOGEN_DIR, default <repo>/var/mitogen),
# not into the venv: nothing changes for runs that do not ask for its strategy (README "Warm playbook runner").
# A failure is reported and ignored: Mitogen is an option, not a requirement.
ensure_mitogen() {
  [ "${AMH_MITOGEN:-}" = 1 ] || return 0
  local python dir want have
  python="$(dirname "$1")/python"
  [ -x "$python" ] || { log "AMH_MITOGEN=1: no python beside $1; Mitogen not installed"; return 0; }
  dir="${AMH_MITOGEN_DIR:-$REPO/var/mitogen}"
  want="$(sed -n 's/^mitogen==\([0-9.]*\).*/\1/p' "$REPO/requirements-mitogen.txt" | head -n1)"
  have="$(PYTHONPATH="$dir" "$python" -c 'import importlib.metadata as m; print(m.version("mitogen"))' 2>/dev/null || true)"
  if [ -n "$want" ] && [ "$have" = "$want" ]; then log "Mitogen $want in $dir"; return 0; fi
  log "installing mitogen==$want into $dir"
  PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip install --quiet --no-deps --upgrade --target "$dir" "mitogen==$want" </dev/null >&2 ||
    log "WARNING: could not install mitogen==$want (runs keep Ansible's own strategy)"
}

[ -n "$PIN" ] || { log "no ansible-core==X.Y.Z pin in $REQ"; exit 1; }

# 1. An explicit choice wins; a wrong one is reported, not silently ignored.
if [ -n "${AMH_ANSIBLE_PLAYBOOK:-}" ]; then
  if [ -x "$AMH_ANSIBLE_PLAYBOOK" ]; then done_with "$AMH_ANSIBLE_PLAYBOOK"; fi
  log "AMH_ANSIBLE_PLAYBOOK=$AMH_ANSIBLE_PLAYBOOK is not executable; falling back"
fi

# Serialise concurrent setups (parallel CI jobs, vitest + a dev shell) on the
# script file itself, so no lock file has to live in the tree.
if command -v flock >/dev/null 2>&1; then
  exec 9<"${BASH_SOURCE[0]}"
  flock 9
fi

venv_version() {
  # "<ansible-core> <ansible or ->": reading metadata is ~50 ms; `ansible-playbook --version` is ~1 s.
  [ -x "$VENV/bin/ansible-playbook" ] && [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" -c '
import importlib.metadata as m
def v(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return "-"
print(v("ansible-core"), v("ansible"))' 2>/dev/null
}
WANT="$PIN ${COLLECTIONS_PIN:--}"

# 2. Already set up?
if [ "$(venv_version || true)" = "$WANT" ]; then done_with "$VENV/bin/ansible-playbook"; fi

# 3. Build the venv. ansible-core 2.18 needs Python >= 3.11 on the controller.
python_ok() {
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}
find_python() {
  local c
  for c in ${AMH_PYTHON:-} python3 python3.13 python3.12 python3.11 /usr/bin/python3; do
    if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then command -v "$c"; return 0; fi
  done
  return 1
}

install_venv() {
  local py
  if ! py="$(find_python)"; then
    log "no Python >= 3.11 with the venv module found (ansible-core $PIN requires it on the controller)"
    return 1
  fi
  # A venv whose interpreter vanished (pyenv version removed) cannot be repaired in place.
  if [ -e "$VENV" ] && ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    log "removing broken $VENV"; rm -rf "$VENV"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $py ($("$py" -V 2>&1))"
    "$py" -m venv "$VENV" >&2 || { rm -rf "$VENV"; return 1; }
  fi
  log "installing ansible-core==$PIN${COLLECTIONS_PIN:+ and ansible==$COLLECTIONS_PIN (collections)} into $VENV"
  local started=$SECONDS
  PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$VENV/bin/python" -m pip install --quiet -r "$REQ" </dev/null >&2 || return 1
  log "pip install took $((SECONDS - started)) s"
  [ "$(venv_version || true)" = "$WANT" ]
}

if install_venv; then done_with "$VENV/bin/ansible-playbook"; fi
log "could not set up $VENV"

# 4. Last resort: the distribution's ansible-core (older; the JSON callback supports 2.14).
if [ -x /usr/bin/ansible-playbook ]; then
  log "WARNING: falling back to the existing /usr/bin/ansible-playbook (not the pinned $PIN)"
  done_with /usr/bin/ansible-playbook
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "WARNING: installing Debian's ansible-core with apt-get (not the pinned $PIN)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q ansible-core </dev/null >&2 ||
    { apt-get update -q </dev/null >&2 && apt-get install -y -q ansible-core </dev/null >&2; } ||
    { log "apt-get install ansible-core failed"; exit 1; }
  [ -x /usr/bin/ansible-playbook ] && done_with /usr/bin/ansible-playbook
fi

log "no usable ansible-playbook: install Python >= 3.11 (with venv and pip) and rerun, or set AMH_ANSIBLE_PLAYBOOK"
exit 1
