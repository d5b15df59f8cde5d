# am-handlers: Node 20 + ansible-core (and the collections package) pinned in
# requirements-ansible.txt + the app, running as the unprivileged user `amh`.
#   docker build -t am-handlers .
#   docker run --rm am-handlers doctor      (any amh subcommand; default: run)
FROM node:20-bookworm-slim
# tini runs as PID 1: it forwards SIGTERM/SIGINT to amh and reaps the processes
# of killed playbook groups, which get re-parented to PID 1 (node does not reap them).
# Debian 12's python3 is 3.11, what ansible-core 2.18 needs on the controller.
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json requirements-ansible.txt ./
COPY scripts ./scripts
COPY src ./src
# npm ci builds dist/ (the prepare script); dev dependencies go afterwards.
RUN npm ci && bash scripts/ensure-ansible.sh && npm prune --omit=dev && npm cache clean --force
COPY schemas ./schemas
COPY config ./config
COPY playbooks ./playbooks
COPY examples ./examples
RUN ln -s /app/dist/cli/main.js /usr/local/bin/amh && chmod +x dist/cli/main.js
# The app stays root-owned and read-only; everything amh writes lives under /var/lib/amh (a volume).
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/amh --create-home amh && \
    mkdir -p /var/lib/amh/runs /var/lib/amh/ledgers /var/lib/amh/sim && chown -R amh:amh /var/lib/amh
# A small young generation bounds the service's memory (README "Memory"); runtime.heap_growing_percent does the rest.
ENV NODE_OPTIONS=--max-semi-space-size=4 \
    AMH_ANSIBLE_PLAYBOOK=/app/.venv/bin/ansible-playbook \
    AMH_RUNTIME__WORK_DIR=/var/lib/amh/runs \
    AMH_RUNTIME__LEDGER_DIR=/var/lib/amh/ledgers \
    AMH_SIM_STATE_DIR=/var/lib/amh/sim \
    HOME=/var/lib/amh
VOLUME ["/var/lib/amh"]
USER amh
# http.port: /healthz, /readyz, /metrics and the status page.
EXPOSE 9100
# Liveness: the process and its loops are alive (readiness is /readyz). No curl in the slim image: node's fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.AMH_HTTP__PORT || 9100) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
CMD ["run"]
