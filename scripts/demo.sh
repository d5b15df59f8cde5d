#!/usr/bin/env bash
# The README's first command: bring up the local Kafka broker, start the
# consumer (`amh run`), send an example VM redeem as the AM would, print its
# reply (OK + management IP), then close the VM and print that reply too.
# The broker is left running (stop it with `npm run kafka -- stop`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
amh() { node "$root/dist/cli/main.js" "$@"; }

[ -f dist/cli/main.js ] || npm run build
export AMH_ANSIBLE_PLAYBOOK="$(bash scripts/ensure-ansible.sh | tail -n 1)"
bash scripts/kafka.sh start

mkdir -p var/demo
log="var/demo/amh-run.log"
echo "==> starting the consumer (amh run); its log: $log"
# node itself in the background (not the amh() function, whose subshell would
# be what $! names): the trap must signal the consumer, not a wrapper around it.
node "$root/dist/cli/main.js" run --log-level info >"$log" 2>&1 &
consumer=$!
cleanup() { kill -TERM "$consumer" 2>/dev/null && wait "$consumer" 2>/dev/null || true; }
trap cleanup EXIT

# Wait until the consumer has joined its group before sending.
for _ in $(seq 1 60); do
  grep -q '"msg":"consuming"' "$log" && break
  kill -0 "$consumer" 2>/dev/null || { echo "consumer exited:"; cat "$log"; exit 1; }
  sleep 1
done
grep -q '"msg":"consuming"' "$log" || { echo "consumer did not start in 60 s:"; tail -n 20 "$log"; exit 1; }

send_and_wait() {
  local file="$1"
  echo "==> amh send $file"
  local sent event_id
  sent="$(amh send "$file")"
  echo "$sent"
  event_id="$(node -e 'console.log(JSON.parse(process.argv[1]).sent)' "$sent")"
  echo "==> reply for event $event_id:"
  amh tail --from-beginning --event-id "$event_id" --count 1 --timeout 300
}

redeem="$(send_and_wait examples/vm-redeem.yaml)"
echo "$redeem"
echo "$redeem" | tail -n 1 | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (r.outcome !== "OK" || !r.sliver?.management_ip) { console.error("demo: redeem was not OK"); process.exit(1); }
  console.log(`\n==> VM ${r.sliver.instance_name}: ${r.outcome}, management IP ${r.sliver.management_ip}\n`);
'
close="$(send_and_wait examples/vm-close.yaml)"
echo "$close"
echo "$close" | tail -n 1 | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (r.outcome !== "OK") { console.error("demo: close was not OK"); process.exit(1); }
  console.log(`\n==> VM closed: ${r.outcome} (${r.message})`);
'
echo "==> demo done. Broker still running: npm run kafka -- stop"
