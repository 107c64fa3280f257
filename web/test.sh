#!/usr/bin/env bash
# Builds the page (web/build.sh) and drives it in the system's Chromium (web/tests/page.test.mjs, playwright-core
# from npm, which downloads no browser). The screenshot goes to web/test-output/ (or $SCREENSHOT_DIR).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "error: no Chromium found; install it (Debian: apt-get install chromium) or set CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
if ! command -v npm >/dev/null; then
  echo "error: npm not found; install Node.js 18 or newer (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
"$here/build.sh"
# The native CLI's answer to the test's first message, which the page must reproduce (same weights — the
# page's f16 copy —, same seed).
mkdir -p "$here/test-output"
(cd "$here/.." && cargo run --release --quiet -- sample --checkpoint web/dist/model --json --seed 0 \
  "I finally got the job I wanted after months of searching. I am so happy!") > "$here/test-output/native.json"
cd "$here"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
CHROMIUM="$chromium" npm test
