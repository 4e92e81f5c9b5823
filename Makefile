# PortHunter build and test entry points. `make help` lists them.
# No target downloads anything: the product is the standard library alone.

VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s
GO       ?= go
BIN      := bin/porthunter
PKGS     := ./...

# Release builds. COMMIT is written into the binary with -X because release
# builds use -buildvcs=false: a binary must not depend on whether it was
# built from a checkout (vcs.* settings) or from a copy of the same files.
# GOFLAGS is emptied and GOAMD64/GOARM64 pinned to their defaults so that
# the builder's environment cannot change the bytes.
COMMIT          ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DIST            ?= dist
RELEASE_TARGETS := linux/amd64 linux/arm64 darwin/arm64 windows/amd64
RELEASE_LDFLAGS := -s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)
SHA256SUM       := $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo 'shasum -a 256')

.PHONY: all build test vet fmtcheck deps fuzz cover demo corpus interop release reproducible help clean answer-sizes

all: fmtcheck vet deps test build ## everything CI checks, in order

build: ## static binary in bin/porthunter
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) .

release: ## static binaries for RELEASE_TARGETS in DIST (dist/), with DIST/SHA256SUMS
	@mkdir -p $(DIST)
	@rm -f $(DIST)/porthunter-* $(DIST)/SHA256SUMS
	@for t in $(RELEASE_TARGETS); do \
	  os=$${t%/*}; arch=$${t#*/}; ext=; if [ "$$os" = windows ]; then ext=.exe; fi; \
	  out=$(DIST)/porthunter-$$os-$$arch$$ext; echo "build $$out"; \
	  GOFLAGS= GOAMD64=v1 GOARM64=v8.0 CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch \
	    $(GO) build -trimpath -buildvcs=false -ldflags "$(RELEASE_LDFLAGS)" -o $$out . || exit 1; \
	done
	@cd $(DIST) && $(SHA256SUM) porthunter-* > SHA256SUMS && cat SHA256SUMS

reproducible: ## build the release twice, and once more from a copy at another path; fail unless identical
	@VERSION='$(VERSION)' COMMIT='$(COMMIT)' GO='$(GO)' sh scripts/reproducible.sh

# The race detector needs cgo, hence a C compiler; on a machine with Go
# alone the tests still run, without it, and say so.
RACE ?= $(shell cc=$$($(GO) env CC 2>/dev/null); command -v "$$cc" >/dev/null 2>&1 && echo -race)

# The shared material (the conformance corpus, the benchmark generator, the
# MCP interop suite) lives in ../shared beside the checkout; the tests that
# need a part of it skip without it, and make test says so, one line a
# suite. REQUIRE_SHARED=1 (CI) makes a missing part an error.
REQUIRE_SHARED ?=

# The race runtime sleeps a second before a binary exits so that late
# reports reach stderr (GORACE atexit_sleep_ms, default 1000). A test's
# races are reported, and fail it, while it runs: the sleep only cost
# each of the fourteen test binaries a second.
test: ## unit, corpus and end-to-end tests (with the race detector when a C compiler is present)
	@[ -n "$(RACE)" ] || echo "note: no C compiler ($$($(GO) env CC)): tests run without -race"
	@REQUIRE_SHARED='$(REQUIRE_SHARED)' sh scripts/shared-check.sh
	GORACE='atexit_sleep_ms=0 $(GORACE)' $(GO) test $(RACE) -count=1 $(PKGS)

# Files tagged harness are tools, not tests: answer dumps and measurements
# driven by environment variables, and the Zeek/Snort model comparison
# (CONTRIBUTING.md). go test leaves them out; vet compiles them.
vet: ## go vet (with the harness-tagged tools)
	$(GO) vet -tags harness $(PKGS)

fmtcheck: ## fail if gofmt would change anything
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

deps: ## fail on a non-standard import, unsafe, or a change to the dependency list
	@if grep -qE '^[[:space:]]*require' go.mod; then echo "go.mod has a require line"; exit 1; fi
	@bad=$$($(GO) list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . ./jsonrpc ./pcapng ./scan ./intel ./policy ./mcp ./capture | grep -v '^porthunter' || true); \
	  if [ -n "$$bad" ]; then echo "non-standard imports: $$bad"; exit 1; fi
	@if grep -rln --include='*.go' --exclude='*_test.go' '"unsafe"' . ; then echo "the product imports unsafe"; exit 1; fi
	@$(GO) list -deps . | sort | diff -u deps.txt - || { echo "dependency list changed: review, then make deps.txt"; exit 1; }

deps.txt: ## record the product's dependency list after review
	$(GO) list -deps . | sort > deps.txt

# FuzzPipeline runs the whole server, whose coverage varies with time
# (progress notifications, timestamps) and goroutine order: the fuzzer
# takes most inputs for new coverage and would spend its time minimizing
# them (60 s each by default), so minimization is one execution there.
# A target fails only when it wrote a failing input into testdata/fuzz:
# Go 1.26's fuzzing coordinator can end a clean run with "context deadline
# exceeded" and no input (golang/go#75804, fixed in Go 1.27); that is
# reported and the run goes on.
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t ($(FUZZTIME))"; \
	    before=$$(ls $$dir/testdata/fuzz/$$t 2>/dev/null | wc -l); \
	    mt=; if [ "$$t" = FuzzPipeline ]; then mt='-fuzzminimizetime 1x'; fi; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$mt $$pkg; then \
	      after=$$(ls $$dir/testdata/fuzz/$$t 2>/dev/null | wc -l); \
	      if [ "$$after" -gt "$$before" ]; then echo "$$t: failing input in $$dir/testdata/fuzz/$$t"; exit 1; fi; \
	      echo "$$t: stopped with an error but wrote no failing input (golang/go#75804)"; \
	    fi; \
	  done; \
	done

# TestAnswerSize fails when a default answer is over the budget; the
# table is printed either way, and the target's status is the test's.
answer-sizes: ## each tool's default answer size over worst-case captures, as a Markdown table (fails over 25,000 chars)
	PORTHUNTER_ANSWER_SIZES=1 $(GO) test -count=1 -run '^TestAnswerSize$$' -v .

cover: ## coverage per package
	$(GO) test -count=1 -cover $(PKGS)

corpus: ## the reader against Wireshark's counts on ../shared/corpus
	$(GO) test -count=1 -run TestCorpus -v ./pcapng | grep -E '^corpus:|^(ok|FAIL|---)'

demo: build ## an MCP session over the demo capture, request by request with each answer summarised, then the terminal report
	@$(GO) run ./fixtures/demo $(BIN)

interop: build ## the official MCP SDK clients and conformance suite against the binary (needs node, npm)
	bash .ci/interop.sh

clean: ## remove build output
	rm -rf bin dist

help: ## list targets
	@grep -E '^[a-zA-Z_.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'
