# Parley — build and test entry points. `make test` is what CI runs (.ci/run).
GO ?= go
PKGS := ./...

.PHONY: test deps fmt-check vet unit build bench fuzz

## test: everything CI checks — formatting, vet, and every test with the race detector.
test: deps fmt-check vet unit

## deps: install what the tests need on a fresh machine (Chromium, coturn client tools).
deps:
	@bash scripts/ensure-test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

build:
	CGO_ENABLED=0 $(GO) build -o bin/parley ./cmd/parley

## bench: the allocation/throughput micro-benchmarks of the media plane.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sfu/...
