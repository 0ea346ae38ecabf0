#!/usr/bin/env bash
# Render every kustomize overlay under deploy/kustomize with the real kustomize (kubectl kustomize),
# validate the output against the Kubernetes schemas (strict; OpenShift/Prometheus Operator kinds get a
# structural check), lint the Containerfile with hadolint and the entrypoint with `sh -n`.
# Rendered manifests go to ${RENDER_OUT:-.venv/rendered-manifests}/<overlay>.yaml for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
out="${RENDER_OUT:-.venv/rendered-manifests}"

echo "== kustomize render + schema validation"
.venv/bin/python deploy/validate_manifests.py --out "$out"

echo "== Containerfile lint (hadolint)"
.venv/bin/hadolint deploy/container/Containerfile

echo "== entrypoint syntax"
sh -n deploy/container/entrypoint.sh

echo "== Grafana dashboard is valid JSON"
.venv/bin/python -m json.tool deploy/grafana/litemaas-dashboard.json >/dev/null

echo "manifests OK (rendered into $out)"
