# Developer entry points. Run `make` (or `make help`) for the list.
#
# Go targets that need PostgreSQL get it from $DATABASE_URL or, when that is
# unset, from cmd/dev: `dev -ephemeral -- CMD` starts one throwaway cluster,
# runs CMD with DATABASE_URL set, and stops the cluster however CMD ends.

GO ?= go
CARGO ?= cargo
CARGO_TARGET_DIR ?= /var/cache/upgrade-manager/target
export CARGO_TARGET_DIR

CARGO_MANIFEST := program/Cargo.toml
# staticcheck 2026.2.2; the first release line that understands go 1.26.
STATICCHECK_VERSION ?= v0.8.2
# An execution count, not a duration: a duration races Go 1.26's fuzz coordinator at the deadline
# (go.dev/issue/75804, fixed in Go 1.27), which fails a target with a bare "context deadline
# exceeded" and no failing input.
FUZZTIME ?= 300000x
# Targets that round-trip every input through PostgreSQL or a real websocket run at a few hundred
# executions a second (and slower while minimizing large inputs): fewer of them keep `make fuzz`
# within minutes.
DB_FUZZ_TARGETS ?= FuzzApplyEventStrings FuzzWebsocketSession
FUZZTIME_DB ?= 5000x
MIGRATE_ARGS ?= up

# Runs its arguments against $DATABASE_URL or a throwaway cluster.
WITH_DB := $(GO) run ./cmd/dev -ephemeral -migrate=false --

.DEFAULT_GOAL := help

.PHONY: chaos chaos-short
.PHONY: help dev localnet test test-go test-rust test-node fuzz generate idl vectors verify lint bench bench-graph bench-decode migrate

help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# Built, then exec'd rather than `go run`: go run does not pass SIGTERM on, so `kill` of a
# `make dev` would leave the node, the cranks and the servers running. make passes SIGTERM to
# its recipe, and the shell's exec makes that dev itself. DEV_ARGS: extra flags (dev -h).
DEV_BIN ?= bin/dev
DEV_ARGS ?=

dev: localnet ## Run the dev environment (database, migrations, localnet, servers) in the foreground
	$(GO) build -o $(DEV_BIN) ./cmd/dev
	exec $(abspath $(DEV_BIN)) $(DEV_ARGS)

test: ## Run all tests: test-go, test-rust, test-node, chaos-short, then fuzz
	@$(MAKE) --no-print-directory test-go
	@$(MAKE) --no-print-directory test-rust
	@$(MAKE) --no-print-directory test-node
	@CHAOS_SEED=$${CHAOS_SEED:-$(TEST_CHAOS_SEED)} $(MAKE) --no-print-directory chaos-short
	@$(MAKE) --no-print-directory fuzz

# The Go end-to-end tests start the localnet binary; building it here, before `go test` and its
# per-package timeout, keeps a cold Rust build out of any one test's time.
LOCALNET_BIN ?= $(CARGO_TARGET_DIR)/debug/localnet
export LOCALNET_BIN

localnet: ## Build the local Solana node (program/localnet)
	$(CARGO) build --manifest-path $(CARGO_MANIFEST) -p localnet

test-go: localnet ## Run the Go tests with -race on one throwaway PostgreSQL (or $DATABASE_URL)
	$(WITH_DB) $(GO) test -race -count=1 -timeout 20m ./...

test-rust: ## Run the Rust workspace tests
	$(CARGO) test --manifest-path $(CARGO_MANIFEST) --workspace

# web3.js comes from npm into a cache outside the repository (see the script's header).
test-node: localnet ## Check the localnet's wire format with @solana/web3.js (node --test)
	node --test program/localnet/web3/roundtrip.test.mjs

fuzz: ## Run each Go fuzz target for FUZZTIME (300,000 executions)
	@set -eu; found=0; \
	files=$$(grep -rlE --include='*_test.go' --exclude-dir=.git --exclude-dir=program --exclude-dir=node_modules \
		'^func Fuzz[A-Za-z0-9_]*\(' . | sort || true); \
	for file in $$files; do \
		for fn in $$(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$$file"); do \
			found=1; \
			n=$(FUZZTIME); case " $(DB_FUZZ_TARGETS) " in *" $$fn "*) n=$(FUZZTIME_DB);; esac; \
			echo "$(GO) test -run='^\$$' -fuzz='^$$fn\$$' -fuzztime=$$n $$(dirname "$$file")"; \
			$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$$n "$$(dirname "$$file")"; \
		done; \
	done; \
	if [ "$$found" = 0 ]; then echo "fuzz: no Go fuzz targets"; fi

generate: idl ## Regenerate generated code (the IDL, then Go code generated from it)
	$(GO) generate ./...

# The IDL build compiles the program with `idl-build` and RUSTFLAGS of its own; a target dir of
# its own keeps that from invalidating the main build.
IDL_TARGET_DIR ?= $(CARGO_TARGET_DIR)/../idl-target

idl: ## Regenerate program/idl/upgrade_manager.json from the program's source
	$(CARGO) build --manifest-path $(CARGO_MANIFEST) -p idl-gen
	CARGO_TARGET_DIR=$(IDL_TARGET_DIR) $(CARGO_TARGET_DIR)/debug/idl-gen program/programs/upgrade_manager program/idl/upgrade_manager.json

vectors: ## Regenerate program/vectors/scenario.json from the program's scenario test
	UPDATE_VECTORS=1 $(CARGO) test --manifest-path $(CARGO_MANIFEST) -p upgrade-manager-tests --test scenario

verify: generate ## Fail when generated code differs from what is committed
	@git diff --exit-code || { echo "verify: generated code is stale; run make generate and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard); \
	if [ -n "$$untracked" ]; then echo "verify: untracked files after generate:"; echo "$$untracked"; exit 1; fi

lint: ## go vet, staticcheck, gofmt, cargo clippy and cargo fmt
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt: needs formatting:"; echo "$$out"; exit 1; fi
	$(CARGO) clippy --manifest-path $(CARGO_MANIFEST) --workspace --all-targets -- -D warnings
	$(CARGO) fmt --manifest-path $(CARGO_MANIFEST) --all --check

# The GraphQL benchmarks drive a server at a fixed rate or hold thousands of connections: they
# run once each with a fixed size (bench-graph) instead of under go test's b.N search.
GRAPH_BENCHES := ^Benchmark(ProposalsQuery|Fanout)$$

bench: bench-graph bench-decode ## Run the Go benchmarks
	$(WITH_DB) $(GO) test -run='^$$' -bench=. -skip='$(GRAPH_BENCHES)' -benchmem ./...

bench-graph: ## GraphQL: proposals query at 500 req/s over 100,000 proposals; fan-out to 5,000 and 10,000 subscribers
	$(WITH_DB) $(GO) test -run='^$$' -bench='^BenchmarkProposalsQuery$$' -benchtime=5000x ./graph/
	$(WITH_DB) $(GO) test -run='^$$' -bench='^BenchmarkFanout$$' -benchtime=1x -timeout=30m ./graph/

# The decoder against Anchor's own: BenchmarkDecode on one core, then
# @coral-xyz/anchor under Node over the same corpus (exported from the Go
# test). npm installs into indexer/decode/bench/node_modules (ignored).
DECODE_BENCH := indexer/decode/bench
DECODE_CORPUS ?= $(or $(TMPDIR),/tmp)/upgrade-manager-decode-corpus.json

bench-decode: ## Event decoder: events/s (wall and per CPU second) and allocs/event on one core, against Anchor (Node)
	@set -eu; \
	out=$$($(GO) test -run='^$$' -bench='^BenchmarkDecode$$' -benchmem -cpu=1 -count=1 ./indexer/decode); \
	echo "$$out"; \
	rate() { echo "$$out" | awk -v b="BenchmarkDecode/$$1" -v u="$$2" '$$1 == b { for (i = 2; i < NF; i++) if ($$(i+1) == u) print $$i }'; }; \
	$(GO) test -run='^TestExportBenchCorpus$$' -count=1 ./indexer/decode -args -export-corpus='$(DECODE_CORPUS)' >/dev/null; \
	if [ ! -f $(DECODE_BENCH)/node_modules/.package-lock.json ] || \
	   [ $(DECODE_BENCH)/package-lock.json -nt $(DECODE_BENCH)/node_modules/.package-lock.json ]; then \
		npm ci --prefix $(DECODE_BENCH) --no-audit --no-fund --ignore-scripts; \
	fi; \
	node $(DECODE_BENCH)/decode-bench.cjs '$(DECODE_CORPUS)' \
		--go-cpi=$$(rate cpi events/s) --go-cpi-cpu=$$(rate cpi events/cpu-s) \
		--go-logs=$$(rate logs events/s) --go-logs-cpu=$$(rate logs events/cpu-s)

migrate: ## Migrate $DATABASE_URL or the dev cluster (MIGRATE_ARGS=up|down|status)
	$(GO) run ./cmd/dev -migrate=false -- $(GO) run ./cmd/migrate $(MIGRATE_ARGS)

# The fault-injection run of the whole system (cmd/chaos, docs/OPERATIONS.md). CHAOS_ARGS adds
# flags, e.g. CHAOS_ARGS='-seed 42' to repeat a failed run.
CHAOS_ARGS ?=
CHAOS_REPORT ?= chaos-report.txt

chaos: localnet ## Fault-injection run: 1,000 proposals, a 2,000-account migration, every fault class 5 times
	$(GO) run ./cmd/chaos -proposals 1000 -migrate-accounts 2000 -faults-per-class 5 -report $(CHAOS_REPORT) $(CHAOS_ARGS)

# `make chaos-short` draws a new seed each run (printed; CHAOS_SEED repeats one). `make test` runs
# it with TEST_CHAOS_SEED, so that a red test run is a regression, not a newly drawn seed; the
# exploring is `make chaos-short` and `make chaos`.
TEST_CHAOS_SEED ?= 7
chaos-short: localnet ## The short fault-injection run (every fault class twice, a few minutes); CHAOS_SEED repeats one
	CHAOS=short $(GO) test -count=1 -timeout 15m -run '^TestShortRun$$' -v ./cmd/chaos/
