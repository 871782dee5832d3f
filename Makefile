# leakscope — make targets. `make demo` and `make test` are the two a new
# user needs; see README.md.
GO      ?= go
BIN     := bin/leakscope
PKGS    := ./...
FUZZTIME ?= 15s
DEMO    := demo
# Gzip inflate through Intel ISA-L when its headers are installed (Debian:
# libisal-dev), several times faster than the pure-Go inflater; without
# them the build is pure Go. `make TAGS=` forces pure Go.
TAGS    ?= $(shell test -e /usr/include/isa-l/igzip_lib.h && echo isal)
GOTAGS  := $(if $(TAGS),-tags '$(TAGS)')

.PHONY: build test bench demo fuzz lint clean

build:
	$(GO) build $(GOTAGS) -o $(BIN) ./cmd/leakscope

# Unit, integration and repository-invariant tests, then every benchmark
# once so benchmarks keep compiling and running.
test:
	$(GO) test $(GOTAGS) -count=1 $(PKGS)
	$(if $(TAGS),$(GO) test -count=1 ./ingest/ ./cmd/...)
	$(GO) test $(GOTAGS) -race -count=1 ./ingest/columnar/
	LEAKSCOPE_BENCH_MB=4 LEAKSCOPE_BENCH_EVENTS=100000 $(GO) test $(GOTAGS) -count=1 -run '^$$' -bench . -benchtime 1x $(PKGS)

# Speed and memory: decoders and end-to-end ingest against DuckDB's own
# readers in the same run (see README, Performance).
bench:
	$(GO) test $(GOTAGS) -run '^$$' -bench . -benchmem -benchtime 3x -timeout 60m $(PKGS) | tee bench.txt

# The synthetic incident end to end: logs -> lake -> detections -> scope ->
# report. The seed is the stolen access key named in the fixture's truth.
demo: build
	rm -rf $(DEMO)
	$(BIN) fixtures --baseline-days 1 $(DEMO)/logs
	$(BIN) ingest --lake $(DEMO)/lake --stats $(DEMO)/ingest-stats.json $(DEMO)/logs
	@echo
	$(BIN) detect --lake $(DEMO)/lake --since 2026-11-14 --until 2026-11-14 --format table > $(DEMO)/findings.txt || true
	@tail -n 12 $(DEMO)/findings.txt
	@echo
	KEY=$$(grep -o '"AKIA[A-Z0-9]*"' $(DEMO)/logs/truth.json | head -n 1 | tr -d '"'); \
	  $(BIN) scope --lake $(DEMO)/lake --access-key $$KEY --since 2026-11-14 --until 2026-11-14 --format json --out $(DEMO)/scope.json && \
	  $(BIN) scope --lake $(DEMO)/lake --access-key $$KEY --since 2026-11-14 --until 2026-11-14 --format table | sed -n '1,30p' && \
	  echo "  … full scope: $(DEMO)/scope.json" && \
	  $(BIN) report --lake $(DEMO)/lake --access-key $$KEY --since 2026-11-14 --until 2026-11-14 --out $(DEMO)/report.html && \
	  $(BIN) report --lake $(DEMO)/lake --access-key $$KEY --since 2026-11-14 --until 2026-11-14 --out $(DEMO)/report.md
	@echo "open $(CURDIR)/$(DEMO)/report.html"

# Short, time-boxed fuzzing of every decoder.
fuzz:
	@set -e; for p in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz' || true); do \
	    echo "fuzz $$p $$f"; $(GO) test $(GOTAGS) -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p; \
	  done; \
	done

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(if $(TAGS),$(GO) vet $(GOTAGS) ./ingest/)
	$(GO) mod tidy -diff

clean:
	rm -rf bin $(DEMO) bench.txt
