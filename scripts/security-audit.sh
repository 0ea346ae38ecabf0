#!/usr/bin/env bash
# Supply-chain and code security audit (issue #12): bandit over the product code (not tests) and pip-audit
# over the installed dependencies. Fails on any finding that is not justified in
# scripts/security-allowlist.txt (one entry per line, each with a reason), on allow-list entries without a
# reason, and on dependencies nobody could audit (a silent "no known vulnerabilities" would be a false green).
#
# Dependencies are audited in two ways, and the summary counts each:
#   1. pip-audit (PyPI's per-version JSON API by default; or whatever SECURITY_AUDIT_PIP_AUDIT_ARGS selects).
#   2. Fallback for what pip-audit skipped (or everything, when pip-audit failed): PyPI's project JSON
#      (<SECURITY_AUDIT_PYPI_URL>/<name>/json, default https://pypi.org/pypi) lists the vulnerabilities of
#      the LATEST release only, so a dependency counts as audited there only when its installed version IS
#      the latest release; any other is "unauditable" and named.
# SECURITY_AUDIT_ALLOW_UNAUDITED=1 downgrades the unauditable ones to a WARNING line with their count
# (networks where the vulnerability services cannot be reached); a vulnerability found either way still fails.
#
# Usage: bash scripts/security-audit.sh        (needs the dev extra: bash scripts/bootstrap.sh dev)
# Test knobs (tests/hardening/test_security_audit_script.py): SECURITY_AUDIT_ALLOWLIST (another allow-list),
# SECURITY_AUDIT_BANDIT_REPORT / SECURITY_AUDIT_PIP_AUDIT_REPORT (use this JSON report instead of running the
# tool; said loudly),
# SECURITY_AUDIT_PIP_AUDIT_ARGS (extra pip-audit arguments, e.g. "-s osv --osv-url http://127.0.0.1:N/q"),
# SECURITY_AUDIT_PYPI_URL, SECURITY_AUDIT_TIMEOUT (seconds per HTTP call, 20).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
allowlist="${SECURITY_AUDIT_ALLOWLIST:-scripts/security-allowlist.txt}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Product code only: every app, the project package and deploy helpers; no tests, migrations or benchmarks.
targets=(accounts apikeys integrations litemaas subscriptions teams usage deploy manage.py)
if [ -n "${SECURITY_AUDIT_BANDIT_REPORT:-}" ]; then
  echo "==> bandit NOT RUN: using the report $SECURITY_AUDIT_BANDIT_REPORT (SECURITY_AUDIT_BANDIT_REPORT)"
  cp "$SECURITY_AUDIT_BANDIT_REPORT" "$out/bandit.json"
else
  echo "==> bandit (${targets[*]})"
  set +e
  $py -m bandit -q -r "${targets[@]}" -x '*/migrations/*,*/tests/*' -f json -o "$out/bandit.json"
  bandit_rc=$?
  set -e
  if [ ! -s "$out/bandit.json" ]; then
    echo "bandit did not produce a report (exit $bandit_rc)" >&2
    exit 2
  fi
fi

if [ -n "${SECURITY_AUDIT_PIP_AUDIT_REPORT:-}" ]; then
  echo "==> pip-audit NOT RUN: using the report $SECURITY_AUDIT_PIP_AUDIT_REPORT (SECURITY_AUDIT_PIP_AUDIT_REPORT)"
  cp "$SECURITY_AUDIT_PIP_AUDIT_REPORT" "$out/pip-audit.json"
  audit_rc=0
else
  echo "==> pip-audit (installed environment, editable project skipped)"
  set +e
  # shellcheck disable=SC2086 # the extra arguments are meant to split
  $py -m pip_audit --progress-spinner off --skip-editable --format json -o "$out/pip-audit.json" \
    ${SECURITY_AUDIT_PIP_AUDIT_ARGS:-} 2>"$out/pip-audit.err"
  audit_rc=$?
  set -e
fi
if [ ! -s "$out/pip-audit.json" ]; then
  tail -n 5 "$out/pip-audit.err" >&2 2>/dev/null || true
  echo "WARNING: pip-audit did not produce a report (exit $audit_rc): every dependency goes to the fallback"
  rm -f "$out/pip-audit.json"
fi
$py -m pip list --format json --exclude-editable >"$out/installed.json"

$py - "$allowlist" "$out/bandit.json" "$out/pip-audit.json" "$out/installed.json" <<'PY'
import json
import os
import sys
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

allowlist_path, bandit_path, audit_path, installed_path = sys.argv[1:5]
PYPI_URL = os.environ.get("SECURITY_AUDIT_PYPI_URL", "https://pypi.org/pypi").rstrip("/")
TIMEOUT = float(os.environ.get("SECURITY_AUDIT_TIMEOUT", "20"))

# --- allow-list ----------------------------------------------------------------------------------------
# bandit <TEST_ID> <path> <count> -- <reason>   (at most <count> findings of that check in that file)
# pip-audit <VULN_ID> <package> -- <reason>
allowed_bandit: dict[tuple[str, str], int] = {}
allowed_vulns: set[tuple[str, str]] = set()
problems: list[str] = []
for number, raw in enumerate(open(allowlist_path, encoding="utf-8"), 1):
    line = raw.strip()
    if not line or line.startswith("#"):
        continue
    head, sep, reason = line.partition(" -- ")
    fields = head.split()
    if sep and reason.strip() and len(fields) == 4 and fields[0] == "bandit" and fields[3].isdigit():
        allowed_bandit[(fields[1], fields[2])] = int(fields[3])
    elif sep and reason.strip() and len(fields) == 3 and fields[0] == "pip-audit":
        allowed_vulns.add((fields[1], canonicalize_name(fields[2])))
    else:
        problems.append(f"{allowlist_path}:{number}: expected 'bandit <id> <path> <count> -- <reason>' or "
                        "'pip-audit <id> <package> -- <reason>'")
used_vulns: set[tuple[str, str]] = set()
findings: list[str] = []
notes: list[str] = []

# --- bandit --------------------------------------------------------------------------------------------
bandit = json.load(open(bandit_path))
for error in bandit.get("errors", []):
    findings.append(f"bandit could not scan {error.get('filename')}: {error.get('reason')}")
by_check: dict[tuple[str, str], list[dict]] = {}
for r in bandit["results"]:
    by_check.setdefault((r["test_id"], os.path.relpath(r["filename"])), []).append(r)
for key, results in sorted(by_check.items()):
    limit = allowed_bandit.get(key, 0)
    for r in results[limit:]:
        findings.append(f"bandit {r['test_id']} {key[1]}:{r['line_number']} "
                        f"[{r['issue_severity']}/{r['issue_confidence']}] {r['issue_text']}"
                        + (f" (the allow-list covers {limit} of {len(results)})" if limit else ""))
for key, limit in sorted(allowed_bandit.items()):
    seen = len(by_check.get(key, []))
    if seen < limit:
        notes.append(f"allow-list entry 'bandit {key[0]} {key[1]} {limit}' now matches {seen}: lower it "
                     "(or remove it)")


# --- dependencies ----------------------------------------------------------------------------------------
def vuln_finding(name: str, version: str, vid: str, aliases: list[str], fixes: list[str], source: str) -> None:
    for i in [vid, *aliases]:
        if (i, canonicalize_name(name)) in allowed_vulns:
            used_vulns.add((i, canonicalize_name(name)))
            return
    also = f" (also {', '.join(a for a in aliases if a != vid)})" if [a for a in aliases if a != vid] else ""
    findings.append(f"{source} {vid}{also} {name} {version} (fixed in: {', '.join(fixes) or 'none yet'})")


installed = {canonicalize_name(d["name"]): d["version"] for d in json.load(open(installed_path))}
pip_audited: list[str] = []
to_fallback: list[str] = []
if Path(audit_path).exists():
    for dep in json.load(open(audit_path)).get("dependencies", []):
        name = canonicalize_name(dep["name"])
        if "skip_reason" in dep:
            if "editable" not in dep["skip_reason"]:  # the project itself (--skip-editable) is not a dependency
                to_fallback.append(name)
            continue
        pip_audited.append(name)
        for vuln in dep.get("vulns", []):
            vuln_finding(name, dep["version"], vuln["id"], vuln.get("aliases", []), vuln.get("fix_versions") or [],
                         "pip-audit")
else:
    to_fallback = sorted(installed)


def project_json(name: str) -> tuple[str, dict | None, str]:
    try:
        with urllib.request.urlopen(f"{PYPI_URL}/{name}/json", timeout=TIMEOUT) as response:  # noqa: S310
            return name, json.load(response), ""
    except (OSError, ValueError) as exc:  # URLError/HTTPError/timeouts are OSErrors; bad JSON is ValueError
        return name, None, f"project JSON unavailable ({exc})"


def same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


fallback_audited: list[str] = []
unauditable: dict[str, str] = {}
with ThreadPoolExecutor(max_workers=8) as pool:
    answers = list(pool.map(project_json, to_fallback))
for name, data, error in answers:
    version = installed.get(name)
    if version is None:
        unauditable[name] = "not installed (per pip list)"
    elif data is None:
        unauditable[name] = error
    elif not same_version(version, str((data.get("info") or {}).get("version"))):
        unauditable[name] = f"{version} installed, latest is {data['info'].get('version')}"
    elif not isinstance(data.get("vulnerabilities"), list):
        unauditable[name] = "project JSON has no 'vulnerabilities' list"
    else:
        fallback_audited.append(name)
        for vuln in data["vulnerabilities"]:
            if vuln.get("withdrawn"):
                continue
            vuln_finding(name, version, vuln["id"], vuln.get("aliases") or [], vuln.get("fixed_in") or [],
                         "pypi-latest")

print(f"bandit: {len(bandit['results'])} raw findings, {sum(allowed_bandit.values())} allowed by the allow-list")
print(f"dependencies: {len(pip_audited) + len(to_fallback)}: {len(pip_audited)} audited by pip-audit, "
      f"{len(fallback_audited)} audited by the PyPI project-JSON fallback, {len(unauditable)} unauditable")
for key in sorted(allowed_vulns - used_vulns):
    notes.append(f"allow-list entry 'pip-audit {' '.join(key)}' no longer matches anything (remove it)")
for note in notes:
    print(f"note: {note}")
if unauditable:
    why = Counter("not the latest release" if "latest is" in r else r.split(" (")[0] for r in unauditable.values())
    print(f"unauditable ({', '.join(f'{n} {w}' for w, n in why.most_common())}):")
    for name, reason in sorted(unauditable.items()):
        print(f"  {name}: {reason}")
    message = f"{len(unauditable)} dependencies could not be audited (see the list above)"
    if os.environ.get("SECURITY_AUDIT_ALLOW_UNAUDITED") == "1":
        print(f"WARNING: {message}; allowed by SECURITY_AUDIT_ALLOW_UNAUDITED=1")
    else:
        problems.append(f"{message}; SECURITY_AUDIT_ALLOW_UNAUDITED=1 allows that with a warning")
for finding in findings:
    print(f"FINDING: {finding}")
for problem in problems:
    print(f"ERROR: {problem}")
if findings or problems:
    print(f"security audit failed: {len(findings)} unjustified findings, {len(problems)} errors "
          f"(justify a finding in {allowlist_path} with a reason, or fix it)")
    sys.exit(1)
print("security audit passed")
PY
