# runnel's build. `make test` is the whole suite: lint, then every test with
# the race detector. It needs only Go: tools are pinned in go.mod and run
# with `go tool`.

GO      ?= go
PKGS    ?= ./...
BENCH   ?= .
COUNT   ?= 1

.PHONY: all build test lint fmt-check vet staticcheck bench bench-nexmark clean

all: build

build:
	$(GO) build -o bin/runnel ./cmd/runnel

test: lint
	$(GO) test -race -timeout 20m $(PKGS)

lint: fmt-check vet staticcheck

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) tool staticcheck $(PKGS)

# Go benchmarks; compare runs with benchstat. BENCH selects, COUNT repeats.
bench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -count=$(COUNT) $(PKGS)

# The Nexmark results page: every query at parallelism 1 and 2.
NEXMARK_EVENTS ?= 10000000
bench-nexmark: build
	bin/runnel nexmark report --events $(NEXMARK_EVENTS) --page bench/nexmark/README.md

clean:
	rm -rf bin
