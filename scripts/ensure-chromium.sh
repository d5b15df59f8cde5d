#!/usr/bin/env bash
# The status page test drives Debian's chromium (playwright-core with its
# executable path; Playwright's own browser downloads cannot work offline).
# Installs it with apt-get when it is missing and we are root; otherwise says
# what to install. Prints the executable's path.
#   AMH_CHROMIUM=/path/to/chromium   use another build
set -euo pipefail
want="${AMH_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$want" ]]; then echo "$want"; exit 0; fi
if [[ -n "${AMH_CHROMIUM:-}" ]]; then echo "ensure-chromium: AMH_CHROMIUM=$want is not an executable" >&2; exit 1; fi
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium (apt-get)" >&2
  apt-get install -y --no-install-recommends chromium >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends chromium >&2; }
  [[ -x "$want" ]] && { echo "$want"; exit 0; }
fi
echo "ensure-chromium: $want not found: install Debian's chromium (sudo apt-get install chromium) or set AMH_CHROMIUM" >&2
exit 1
