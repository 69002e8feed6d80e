# Parley — build and test entry points. `make test` is what CI runs (.ci/run).
GO ?= go
PKGS := ./...

.PHONY: test deps fmt-check vet unit build bench bench-micro fuzz browser screenshot

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

## unit: every package's tests. ./web's tests re-run themselves inside a private network
## namespace (unshare -n) and drive headless Chromium, so they need root or user namespaces.
unit:
	$(GO) test -race -count=1 -p 1 -timeout 30m $(PKGS)

## browser: only the browser SDK and demo page tests (headless Chromium, two users).
browser: deps
	$(GO) test -race -count=1 -timeout 5m -v ./web/...

## screenshot: refresh docs/screenshots/demo-call.png (engine lab) and kit-*.png (call kit)
## from the browser tests.
screenshot: deps
	PARLEY_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestBrowserCall|TestKit' ./web/

build:
	CGO_ENABLED=0 $(GO) build -o bin/parley ./cmd/parley

## bench: the standard load suite (a few minutes on 2 cores): reference loads a1/a2/b/c, calls,
## churn and step-up searches, each against a parley server it starts; writes docs/benchmarks.md
## (machine, commands, results) and JSON reports in bin/bench-results/.
bench: build
	$(GO) build -o bin/parley-bench ./cmd/parley-bench
	bin/parley-bench suite --server-bin bin/parley --doc docs/benchmarks.md --out-dir bin/bench-results

## bench-micro: the allocation/throughput micro-benchmarks of the media plane.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./sfu/...
