#!/usr/bin/env bash
# Re-fetch the dashboard's charting library from the npm registry into api/static/dashboard/vendor/.
#
# The dashboard loads nothing from a CDN: it serves lightweight-charts' own distributed
# standalone ES-module build (fancy-canvas bundled in, no imports) from the Flask app. This
# script replaces the committed copy with the given version's, with its LICENSE and a README
# naming the version, the tarball's integrity and where it came from.
#
# Usage: scripts/vendor_dashboard.sh [VERSION]    (default: the version vendored now)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENDOR="$ROOT/api/static/dashboard/vendor"
PACKAGE=lightweight-charts
BUILD=lightweight-charts.standalone.production.mjs
CURRENT=$(sed -n 's/^Version: //p' "$VENDOR/README.md" 2>/dev/null || true)
VERSION=${1:-${CURRENT:-5.2.1}}

command -v npm > /dev/null || { echo "npm is needed (Node.js); install it and retry" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack --silent "$PACKAGE@$VERSION" > /dev/null
TARBALL=$(ls "$PACKAGE"-*.tgz)
tar xzf "$TARBALL"
INTEGRITY=$(npm view "$PACKAGE@$VERSION" dist.integrity)
LICENSE=$(node -p "require('./package/package.json').license")
[ "$LICENSE" = "Apache-2.0" ] || { echo "unexpected license $LICENSE" >&2; exit 1; }

mkdir -p "$VENDOR"
cp "package/dist/$BUILD" "$VENDOR/$BUILD"
cp package/LICENSE "$VENDOR/LICENSE"
cat > "$VENDOR/README.md" <<EOF
# Vendored: $PACKAGE

Package: $PACKAGE
Version: $VERSION
License: $LICENSE (see LICENSE; Copyright TradingView, Inc.)
Origin: the npm registry, \`npm pack $PACKAGE@$VERSION\` (tarball integrity $INTEGRITY)
File: \`$BUILD\` is the package's own \`dist/$BUILD\`, unmodified: the
standalone production ES module (its one dependency, fancy-canvas, is bundled in).

The dashboard imports it from \`/static/dashboard/vendor/$BUILD\`; nothing is loaded from a
CDN at run time. Re-fetch (or change version) with \`scripts/vendor_dashboard.sh [VERSION]\`.
The chart's TradingView attribution is shown in the page footer (the library's
\`attributionLogo\` is turned off because it injects an inline style the page's CSP forbids).
EOF
echo "vendored $PACKAGE $VERSION into ${VENDOR#"$ROOT"/}"
