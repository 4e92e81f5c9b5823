# PortHunter build and test entry points. `make help` lists them.
# No target downloads anything: the product is the standard library alone.

VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s
GO       ?= go
BIN      := bin/porthunter
PKGS     := ./...

.PHONY: all build test vet fmtcheck deps fuzz cover demo corpus interop help clean

all: fmtcheck vet deps test build ## everything CI checks, in order

build: ## static binary in bin/porthunter
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) .

test: ## unit, corpus and end-to-end tests with the race detector
	$(GO) test -race -count=1 $(PKGS)

vet: ## go vet
	$(GO) vet $(PKGS)

fmtcheck: ## fail if gofmt would change anything
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

deps: ## fail on a non-standard import, unsafe, or a change to the dependency list
	@if grep -qE '^[[:space:]]*require' go.mod; then echo "go.mod has a require line"; exit 1; fi
	@bad=$$($(GO) list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . ./jsonrpc ./pcapng ./scan ./intel ./policy | grep -v '^porthunter' || true); \
	  if [ -n "$$bad" ]; then echo "non-standard imports: $$bad"; exit 1; fi
	@if grep -rln --include='*.go' --exclude='*_test.go' '"unsafe"' . ; then echo "the product imports unsafe"; exit 1; fi
	@$(GO) list -deps . | sort | diff -u deps.txt - || { echo "dependency list changed: review, then make deps.txt"; exit 1; }

deps.txt: ## record the product's dependency list after review
	$(GO) list -deps . | sort > deps.txt

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

cover: ## coverage per package
	$(GO) test -count=1 -cover $(PKGS)

corpus: ## the reader against Wireshark's counts on ../shared/corpus
	$(GO) test -count=1 -run TestCorpus -v ./pcapng | grep -E '^corpus:|^(ok|FAIL|---)'

demo: build ## pipe a scripted MCP session over the bundled demo capture and print the answers
	@sh fixtures/demo.sh $(BIN)

interop: build ## the official MCP SDK clients and conformance suite against the binary (needs node, npm)
	bash .ci/interop.sh

clean: ## remove build output
	rm -rf bin dist

help: ## list targets
	@grep -E '^[a-zA-Z_.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'
