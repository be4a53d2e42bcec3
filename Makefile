# Switchyard: `make dev` brings the stack up, `make test` proves it works.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO                ?= go
TEMPORAL_VERSION  := v1.5.1
WORKFLOWCHECK     := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0
TOOLS_CACHE       ?= $(HOME)/.cache/switchyard
TEST_TIMEOUT      ?= 15m
BENCH_DURATION    ?= 10s
FUZZTIME          ?= 10s
export GOTOOLCHAIN ?= local

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "Usage: make <target>\n\n"} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: tools
tools: bin/temporal bin/workflowcheck ## Get the temporal CLI and workflowcheck into bin/ (built once, then cached)

# The temporal CLI (dev server + Web UI): one on PATH is reused; otherwise it is built from the Go
# module proxy (about 6 minutes on 2 cores) and cached under $(TOOLS_CACHE) for later clones.
bin/temporal:
	@mkdir -p bin
	@if command -v temporal >/dev/null 2>&1; then \
		ln -sf "$$(command -v temporal)" bin/temporal; echo "Using $$(command -v temporal)"; \
	elif [ -x "$(TOOLS_CACHE)/temporal-$(TEMPORAL_VERSION)" ]; then \
		cp "$(TOOLS_CACHE)/temporal-$(TEMPORAL_VERSION)" bin/temporal; \
	else \
		echo "Building the temporal CLI $(TEMPORAL_VERSION) (once; about 6 minutes)"; \
		GOBIN=$(CURDIR)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION) && \
		mkdir -p "$(TOOLS_CACHE)" && cp bin/temporal "$(TOOLS_CACHE)/temporal-$(TEMPORAL_VERSION)"; \
	fi

bin/workflowcheck:
	@mkdir -p bin
	GOBIN=$(CURDIR)/bin $(GO) install $(WORKFLOWCHECK)

.PHONY: build
build: ## Build bin/switchyard
	$(GO) build -o bin/switchyard ./cmd/switchyard

.PHONY: dev
dev: tools build ## Run the whole stack locally (PostgreSQL, Temporal + Web UI, API, worker, simulators)
	./bin/switchyard dev

.PHONY: test
test: tools ## Unit and integration tests against a real PostgreSQL and Temporal dev server (-race)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

.PHONY: histories
histories: tools ## Refresh workflows/testdata/histories from an end-to-end run (the replayer test replays them)
	SWITCHYARD_CAPTURE_HISTORIES=$(CURDIR)/workflows/testdata/histories $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./cmd/switchyard

.PHONY: lint
lint: bin/workflowcheck ## go vet and workflowcheck (determinism of workflows/)
	$(GO) vet ./...
	./bin/workflowcheck ./workflows/...

.PHONY: fuzz
fuzz: ## Fuzz ISO 8583 unpacking and framing, and webhook verification (FUZZTIME=10s each, or a count: 80000x; longer by hand, e.g. FUZZTIME=10m)
	$(GO) test -run '^$$' -fuzz '^FuzzUnpack$$' -fuzztime $(FUZZTIME) ./iso
	$(GO) test -run '^$$' -fuzz '^FuzzFraming$$' -fuzztime $(FUZZTIME) ./iso
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./platform

.PHONY: bench
bench: tools build ## Benchmarks: ISO pack/unpack and pool vs raw round trips, the load run against the Temporal floor (BENCH_DURATION=10s), then the scale-out run
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./iso
	./bin/switchyard bench -duration $(BENCH_DURATION)
	./bin/switchyard bench -scale-out

.PHONY: migrate
migrate: ## Apply database migrations to DATABASE_URL
	$(GO) run ./cmd/switchyard migrate

.PHONY: up
up: ## Start the docker compose stack (needs a Docker engine)
	docker compose -f docker/compose.yaml up -d --build

.PHONY: down
down: ## Stop the docker compose stack
	docker compose -f docker/compose.yaml down

.PHONY: clean
clean: ## Remove build output (keeps .data/ and the cached temporal CLI)
	rm -f bin/switchyard bin/workflowcheck
