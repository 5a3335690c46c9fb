# mod_nwayacd — see README.md.
#   make            build everything buildable here (Go packages, the c-archive,
#                   the module when FreeSWITCH headers exist, the stand-in host)
#   make test       every test (Go with the race detector, then the stand-in host)
#   make bench      every benchmark with the figures the issues name
#   make bench-reports  the month of reports (loads 9M rows first)
#   make lint       gofmt check, go vet, staticcheck
#   make demo       the core, REST API and event push without FreeSWITCH
#   make up         install/start the services, build, then install the module
#                   into FreeSWITCH when it is installed (modules.conf.xml, load
#                   into a running FreeSWITCH), else run the demo
#   make install    install the module and its configuration into FreeSWITCH
#   make db-migrate apply the PostgreSQL migrations (DSN=postgres://…)
#   make load       sipp load against an installed, running FreeSWITCH: the
#                   module vs a bare answer+bridge (skips when there is none)
#   make cluster-check  two FreeSWITCH instances of the installed switch (own
#                   folders and ports) as one cluster: sipp calls through both,
#                   kill -9 of one (skips without FreeSWITCH, sipp or jq)

GO          ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 25m  # -count=1: tests talk to live services, never reuse a cached pass
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(HOME)/go/bin/staticcheck)
DSN         ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

.PHONY: all build test test-go test-scripts bench bench-reports lint demo up db-migrate load cluster-check clean

# First, so that a plain `make` builds everything (module.mk's targets would
# otherwise be the default).
all: build

include mod/module.mk

build: module standin
	$(GO) build ./...

test: test-go standin-test test-scripts

test-go:
	$(GO) test $(GOTEST_FLAGS) ./...

test-scripts:
	.ci/fs-install-test

# One core per benchmark process where the issue names "one core".
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1s -cpu 1 ./go/acd/ ./go/sim/ ./go/service/ ./go/event/ ./go/console/ ./go/hostexec/ ./go/ident/ ./go/stats/ ./go/groupopt/
	$(GO) test -run '^$$' -bench . -benchtime 1s ./go/api/ ./go/publish/... ./go/store/... ./go/node/ ./go/bridge/ ./go/metrics/
	$(GO) test -run '^$$' -bench Cluster -benchtime 2s ./go/cluster/
	$(GO) test -run '^$$' -bench . -tags nwayacd_bench ./go/cmd/mod_nwayacd/
	$(GO) test -run '^$$' -bench 'InsertCDR|AppendAgentLog' -benchtime 1s ./go/reports/

# A month of CDRs (3M) and agent states (6M) behind the historical reports:
# ~4 minutes of loading first, so not part of `make bench`.
bench-reports:
	$(GO) test -run '^$$' -bench MonthReport -benchtime 3x -timeout 40m -v ./go/reports/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

demo:
	$(GO) run ./go/cmd/nwayacd-demo

# LOAD_ARGS e.g. -rates 10,20,35 -calls 600 -agents 70 -slo (see -h).
load:
	$(GO) run ./go/cmd/nwayacd-load $(LOAD_ARGS)

cluster-check: module
	.ci/fs-cluster-check

up:
	.ci/services
	$(MAKE) build
	@if [ -n "$(strip $(FS_CFLAGS))" ]; then \
		FS_MOD_DIR='$(FS_MOD_DIR)' FS_CONF_DIR='$(FS_CONF_DIR)' MAKE='$(MAKE)' \
			FS_CLI="$${FS_CLI:-$$(command -v fs_cli || echo '$(FS_PREFIX)/bin/fs_cli')}" .ci/fs-install; \
	else \
		echo "FreeSWITCH is not installed here: running the demo (Ctrl-C stops it)"; \
		$(MAKE) demo; \
	fi

db-migrate:
	$(GO) run ./go/cmd/nwayacd-migrate -dsn '$(DSN)'

clean:
	rm -rf build/standin build/*.a build/*.h build/*.so
