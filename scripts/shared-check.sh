#!/bin/sh
# Says which suites make test skips for want of the shared material in
# ../shared beside the checkout (where the tests look for it), one line a
# suite, and how to get it; with REQUIRE_SHARED=1 (CI) a missing part is an
# error. SHARED overrides the path only to try this script.
SHARED=${SHARED:-../shared}
missing=0
need() { # need DIR SUITE WHAT
	[ -d "$SHARED/$1" ] && return 0
	missing=1
	echo "skipped: $2 ($3): $SHARED/$1 is absent; to run it, put the project's shared material (corpus/, bench/, mcp-interop/) in $SHARED"
}
need corpus "corpus suite" "pcapng TestCorpus, TestCorpusTimestamps and the corpus captures of TestReassemblyTshark; make corpus"
need bench/gen "generated-capture suite" "scan TestGeneratedCapture"
need mcp-interop "interop suite" "the official MCP SDK clients and conformance suite; make interop, not part of make test"
if [ "$missing" = 1 ] && [ "${REQUIRE_SHARED:-}" = 1 ]; then
	echo "REQUIRE_SHARED=1: the shared material must be present"
	exit 1
fi
exit 0
