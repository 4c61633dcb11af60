# The front door: .ci/run and README call these targets.
SWIFT ?= swift

.PHONY: build test goldens lint bench demo clean

build:
	$(SWIFT) build

## Runs every test: the Swift suites (with the oracles terraform fmt, tfschema-check and gcloud-check on every
## rendered environment), then the protocol conformance suites against the real realtime-server binary.
test:
	$(SWIFT) build
	$(SWIFT) test
	REALTIME_SERVER=$$($(SWIFT) build --show-bin-path)/realtime-server python3 -m pytest -q Tests/ServerTests

## Re-records golden files (rendered Terraform, expected diagnostics), then checks them; review with git diff.
goldens:
	-TFCTL_RECORD_GOLDENS=1 $(SWIFT) test --filter 'FixtureTests|RenderGoldenTests|PlanGoldenTests' >/dev/null 2>&1
	$(SWIFT) test --filter 'FixtureTests|RenderGoldenTests|PlanGoldenTests'
	git status --short -- Tests

## Warnings are errors; formatting follows swift-format's lint.
lint:
	$(SWIFT) build -Xswiftc -warnings-as-errors
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

## Release builds, then the render benchmark and the server's broadcast benchmark, each with its same-run
## baseline (terraform fmt and python3 for rendering; Node with Debian's node-ws for the server's clients and
## its baseline).
bench:
	$(SWIFT) build -c release --product tfctl
	$(SWIFT) build -c release --product realtime-server
	python3 Benchmarks/render_bench.py $$($(SWIFT) build -c release --show-bin-path)/tfctl
	python3 Benchmarks/server_bench.py $$($(SWIFT) build -c release --show-bin-path)/realtime-server

## Renders the bundled example environment and lists what it wrote.
demo: build
	$$($(SWIFT) build --show-bin-path)/tfctl render --env prod
	find out/prod -type f | sort

clean:
	rm -rf .build out
