#!/usr/bin/env bash
# Copy the pinned front-end libraries (frontend/package-lock.json) into static/vendor/.
#
# Only the files the portal serves are copied: PatternFly's minified CSS and addons (utilities), the
# fonts and icon fonts that CSS actually references, htmx and Chart.js (UMD build), plus each licence.
# The output is committed, so a checkout needs neither Node nor the npm registry to run.
# Re-run after changing a version in frontend/package.json (then `npm install` there to refresh the lock).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FRONTEND="$ROOT/frontend"
VENDOR="$ROOT/static/vendor"
NM="$FRONTEND/node_modules"

(cd "$FRONTEND" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

rm -rf "$VENDOR"
mkdir -p "$VENDOR/patternfly" "$VENDOR/htmx" "$VENDOR/chartjs"

# Drop "sourceMappingURL" comments: the maps are not vendored, and Django's manifest storage refuses
# to build a manifest that points at a missing file.
strip_map() { sed -E -e 's@/\*# sourceMappingURL=[^*]*\*/@@g' -e 's@^//# sourceMappingURL=.*$@@' "$1" > "$2"; }

PF="$NM/@patternfly/patternfly"
strip_map "$PF/patternfly.min.css" "$VENDOR/patternfly/patternfly.min.css"
strip_map "$PF/patternfly-addons.css" "$VENDOR/patternfly/patternfly-addons.css"

# Every url(...) the CSS references, copied with the same relative path so the CSS resolves unchanged.
grep -ohE 'url\((assets/[^)]+)\)' "$VENDOR/patternfly/patternfly.min.css" "$VENDOR/patternfly/patternfly-addons.css" \
  | sed -E 's/^url\((.*)\)$/\1/' | tr -d "\"'" | sort -u | while read -r asset; do
  mkdir -p "$VENDOR/patternfly/$(dirname "$asset")"
  cp "$PF/$asset" "$VENDOR/patternfly/$asset"
done

strip_map "$NM/htmx.org/dist/htmx.min.js" "$VENDOR/htmx/htmx.min.js"
cp "$NM/htmx.org/LICENSE" "$VENDOR/htmx/LICENSE"

strip_map "$NM/chart.js/dist/chart.umd.min.js" "$VENDOR/chartjs/chart.umd.min.js"
cp "$NM/chart.js/LICENSE.md" "$VENDOR/chartjs/LICENSE.md"

# Record what was vendored (name, version, licence), for review diffs and licence notices.
node -e '
const lock = require(process.argv[1]);
for (const name of ["@patternfly/patternfly", "htmx.org", "chart.js"]) {
  const p = lock.packages["node_modules/" + name];
  console.log(`${name} ${p.version} ${p.license}`);
}' "$FRONTEND/package-lock.json" > "$VENDOR/VERSIONS.txt"

echo "vendored into static/vendor ($(du -sh "$VENDOR" | cut -f1)):"
cat "$VENDOR/VERSIONS.txt"
