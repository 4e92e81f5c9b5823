#!/usr/bin/env bash
# Drives bin/porthunter with the official MCP SDK clients (check.mjs, --strict) and the conformance
# suite from ../shared/mcp-interop, over a scratch allowed-directory holding the fixtures plus two
# generated captures large enough that progress and cancellation can be observed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared=$root/../shared
bin=$root/bin/porthunter
[ -x "$bin" ] || make build

command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$shared/mcp-interop" "$work/interop"
chmod -R u+w "$work/interop"
(cd "$work/interop" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

data=$work/data
mkdir -p "$data"
cp fixtures/*.pcap fixtures/*.pcapng "$data/" 2>/dev/null || true
cp fixtures/README.md "$data/not-a-capture.pcap"
mkdir "$data/a-directory"
head -c 20 fixtures/demo.pcapng > "$data/broken.pcapng" 2>/dev/null || true
(cd "$shared/bench/gen" && go build -o "$work/gen" .)
"$work/gen" -o "$data/big1.pcap" -size 300M -seed 1 >/dev/null
"$work/gen" -o "$data/big2.pcap" -size 300M -seed 2 >/dev/null
truncate -s 2G "$data/huge.pcap"

# The calls file writes "ips": "@N" for a list of N generated addresses (too_many_ips needs 1001).
node -e '
  const fs = require("fs");
  const c = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  for (const call of c.calls) {
    const a = call.arguments || {};
    if (typeof a.ips === "string" && a.ips.startsWith("@")) {
      const n = Number(a.ips.slice(1));
      a.ips = Array.from({ length: n }, (_, i) => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    }
  }
  fs.writeFileSync(process.argv[2], JSON.stringify(c));
' "$root/.ci/calls.json" "$work/calls.json"

env=(-e PORT_HUNTER_ALLOWED_DIR="$data" -e PORT_HUNTER_TOKEN=ci-secret-token -e PORT_HUNTER_MAX_PCAP_MB=1024)
echo "== check.mjs"
node "$work/interop/check.mjs" --client all --strict --quiet-stderr "${env[@]}" --calls "$work/calls.json" -- "$bin" | tee "$work/check.out" | tail -n 40
# check.mjs drives tools only: resources, templates, prompts, completion and resource links go
# through the same SDK clients (v1, v2, v2-auto, v2-modern), with and without the token.
cp "$root/.ci/interop-features.mjs" "$work/interop/"
echo "== interop-features.mjs"
node "$work/interop/interop-features.mjs" "${env[@]}" -- "$bin" | tee "$work/features.out" | grep -v '^PASS' || true
grep -q ', 0 failed$' "$work/features.out"
echo "== run-conformance.sh"
(cd "$work/interop" && env PORT_HUNTER_ALLOWED_DIR="$data" PORT_HUNTER_TOKEN=ci-secret-token ./run-conformance.sh \
  --scenario server-initialize --scenario ping --scenario tools-list --scenario resources-list --scenario prompts-list -- "$bin") | tail -n 15
