# hostaccess: `make run` serves the demo on the memory datastore; `make test`
# runs every test. `make help` lists the rest.

# Every build, test and scan runs on this Go: the go command fetches it from
# the module proxy on first use (about 10 s). go1.26.8, the newest 1.26 the
# proxy serves here, carries standard-library vulnerabilities our code
# reaches (crypto/x509, net/http, html/template; make vulncheck names them),
# fixed in go1.27.3. go.mod keeps `go 1.26` so that embedders on 1.26 can
# still build us. Override with GOTOOLCHAIN=local to use the machine's Go.
export GOTOOLCHAIN ?= go1.27.3

BIN            := bin/hostaccess
DEV_KEY        ?= hostaccess-dev-key
DEV_API_KEY    ?= hostaccess-dev-api-key
TESTFLAGS      ?=
LOCAL_PG_URI   := postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
PG_SKIP_NOTICE := NOTE: HOSTACCESS_TEST_POSTGRES_URI is not set, so tests that need Postgres are SKIPPED (make test-integration runs them).

.DEFAULT_GOAL := help
.PHONY: help build run spicedb test test-integration fuzz fuzz-go vulncheck bench bench-cold bench-go bench-profile lint vet example openapi openapi-lint fmt tidy clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/hostaccess
	go build -o $(BIN) ./cmd/hostaccess

run: build ## Serve the demo data on the memory datastore (gRPC :50051, HTTP :8080)
	./$(BIN) serve --grpc-preshared-key $(DEV_KEY) --api-keys panel=$(DEV_API_KEY) \
		--invite-url-template 'http://localhost:3000/invite/{token}' --bootstrap testdata/demo.yaml

# SpiceDB's own command at the version go.mod requires (a tool of this
# module, so go.sum pins what it builds from), for the remote-mode test
# against a real `spicedb serve` cluster. Built once into the directory that
# test looks in (the user's cache, keyed by SpiceDB's and Go's versions); the
# test builds it there itself when missing.
SPICEDB_DIR = $${XDG_CACHE_HOME:-$$HOME/.cache}/hostaccess-test/spicedb-$$(go list -m -f '{{.Version}}' github.com/authzed/spicedb)-$$(go env GOVERSION)

spicedb: ## Build the spicedb binary of our SpiceDB version, once, for the remote-mode cluster test (prints its path)
	@dir="$(SPICEDB_DIR)"; if [ ! -x "$$dir/spicedb" ]; then \
		echo "building spicedb into $$dir (once; takes minutes)" >&2; mkdir -p "$$dir" && \
		go build -o "$$dir/spicedb.tmp" github.com/authzed/spicedb/cmd/spicedb && mv "$$dir/spicedb.tmp" "$$dir/spicedb"; \
	fi; echo "$$dir/spicedb"

test: ## Run every test with the race detector (Postgres tests need HOSTACCESS_TEST_POSTGRES_URI)
	@if [ -z "$$HOSTACCESS_TEST_POSTGRES_URI" ]; then echo "$(PG_SKIP_NOTICE)"; fi
	go test -race $(TESTFLAGS) ./...
	@if [ -z "$$HOSTACCESS_TEST_POSTGRES_URI" ]; then echo "$(PG_SKIP_NOTICE)"; fi

test-integration: ## Run every test, Postgres ones included, against the local Postgres (or HOSTACCESS_TEST_POSTGRES_URI)
	HOSTACCESS_TEST_POSTGRES_URI="$${HOSTACCESS_TEST_POSTGRES_URI:-$(LOCAL_PG_URI)}" go test -race $(TESTFLAGS) ./...

FUZZ_CHECKS    ?= 400
FUZZ_STEPS     ?= 60

fuzz: ## The model-checked flow fuzzer, longer than in make test (FUZZ_CHECKS runs of FUZZ_STEPS flows, memory and Postgres)
	HOSTACCESS_TEST_POSTGRES_URI="$${HOSTACCESS_TEST_POSTGRES_URI:-$(LOCAL_PG_URI)}" go test -count=1 -timeout 0 -v -run 'TestFlowsKeepTheRules' \
		./internal/flowfuzz/ -rapid.checks=$(FUZZ_CHECKS) -rapid.steps=$(FUZZ_STEPS)

# The go test -fuzz targets (package:target); make test runs their seed
# corpora (testdata/fuzz) as regular tests.
FUZZ_TARGETS := internal/tuples:FuzzParse internal/tuples:FuzzReadLines internal/tuples:FuzzParseFilter \
	internal/relfile:FuzzDecode internal/api:FuzzDecode internal/api:FuzzHandler \
	pkg/freshness:FuzzTokens pkg/hostaccess:FuzzAcceptInvitation
FUZZTIME ?= 30s

fuzz-go: ## Run each go test -fuzz target for FUZZTIME (parsers, HTTP decoders, tokens)
	@set -e; for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; name=$${target##*:}; echo "== $$name ($$pkg, $(FUZZTIME))"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./$$pkg/; \
	done

vulncheck: ## govulncheck against a local copy of the Go vulnerability database (no network needed)
	./.ci/govulncheck.sh

bench: build ## A short bench run on the memory datastore (see docs/benchmarks.md for full runs)
	./$(BIN) bench --accounts 2000 --seed 1 --duration 1s --verify 300

bench-cold: build ## Cold product checks beside a stock spicedb serve built from go.mod (docs/bench-cold.md); COLD_DB=postgres://.../a fresh empty database
	@test -n "$(COLD_DB)" || { echo "set COLD_DB to a fresh, empty postgres database (its _spicedb twin is created for the stock server)"; exit 2; }
	go build -o bin/spicedb github.com/authzed/spicedb/cmd/spicedb
	./$(BIN) bench --accounts 10000 --only cold --compare-spicedb bin/spicedb --compare-serve --datastore-engine postgres --datastore-conn-uri $(COLD_DB)

bench-go: ## The Go benchmarks of the check path, of an audit explanation and of reading a freshness token
	go test -run '^$$' -bench . -benchmem ./pkg/hostaccess/ ./pkg/freshness/

bench-profile: build ## CPU and heap profiles: the check path's Go benchmark (cpu.prof, mem.prof) and the short bench run (bench-cpu.prof, bench-heap.prof); go tool pprof
	go test -run '^$$' -bench 'BenchmarkCan' -benchmem -cpuprofile cpu.prof -memprofile mem.prof -o hostaccess.test ./pkg/hostaccess/
	./$(BIN) bench --accounts 2000 --seed 1 --duration 1s --verify 300 --quiet --cpu-profile bench-cpu.prof --heap-profile bench-heap.prof

vet: ## go vet and a gofmt check
	go vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# golangci-lint is pinned here rather than in go.mod's tool block: as a tool
# dependency it upgrades modules SpiceDB shares with it (otel, x/net, ...),
# changing the engine we ship to suit a linter.
GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

lint: vet ## vet + golangci-lint (pinned version; .golangci.yml)
	go run $(GOLANGCI_LINT) run ./...

openapi: ## Regenerate docs/openapi.json from the route table and the Go types (the server generates the same document)
	go test ./internal/api -run TestCommittedOpenAPIIsGenerated -count=1 -args -update

openapi-lint: ## Lint docs/openapi.json with Redocly's CLI (installed with npm on first use, pinned)
	./.ci/openapi-lint.sh

example: ## Build, vet and run examples/embed: a separate module embedding hostaccess through public packages only
	cd examples/embed && go vet ./... && go run .

fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

tidy: ## Tidy go.mod (and examples/embed's, which follows the root's dependencies)
	go mod tidy
	cd examples/embed && go mod tidy

clean: ## Remove build output
	rm -rf bin
