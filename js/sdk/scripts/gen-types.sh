#!/usr/bin/env bash
# Regenerates js/sdk/src/openapi.d.ts from the API's OpenAPI document (no make needed).
# Run from anywhere; uses the project's venv and the pinned openapi-typescript in node_modules.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
py="${AIGC_PYTHON:-$root/.venv/bin/python}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" js/sdk/scripts/dump_openapi.py "$tmp/openapi.json"
npx --no-install openapi-typescript "$tmp/openapi.json" -o js/sdk/src/openapi.d.ts
