# amh run with ansible-core from the project's pinned requirements.
FROM node:20-bookworm-slim
# tini runs as PID 1: it forwards SIGTERM/SIGINT to amh and reaps the processes
# of killed playbook groups, which get re-parented to PID 1 (node does not reap them).
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json requirements-ansible.txt ./
COPY scripts ./scripts
COPY src ./src
RUN npm ci && bash scripts/ensure-ansible.sh
COPY schemas ./schemas
COPY config ./config
COPY playbooks ./playbooks
COPY examples ./examples
RUN ln -s /app/dist/cli/main.js /usr/local/bin/amh && chmod +x dist/cli/main.js
ENV AMH_ANSIBLE_PLAYBOOK=/app/.venv/bin/ansible-playbook
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/cli/main.js", "run"]
