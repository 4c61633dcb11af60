# The front door: .ci/run and README call these targets.
SWIFT ?= swift
PYTHON ?= python3
## The tests' Python packages live in their own virtual environment, made from Tests/requirements.txt alone (and
## made again whenever a requirements file changes), so nothing installed by hand on the machine is used.
VENV ?= .venv
REQUIREMENTS := Tests/requirements.txt Tests/ServerTests/requirements.txt
WITH_VENV = PATH="$(abspath $(VENV))/bin:$$PATH"
## The policy scanner (checkov) in a virtual environment of its own: its HCL parser's module would replace the
## one the tests use (Tests/PolicyTests/requirements.txt).
CHECKOV_VENV ?= .venv-checkov

.PHONY: build test venv checkov goldens lint bench soak demo clean

build:
	$(SWIFT) build

## Runs every test: the Swift suites (with the oracles terraform fmt, tfschema-check and gcloud-check on every
## rendered environment), then the protocol conformance suites against the real realtime-server binary.
test: venv checkov
	$(SWIFT) build
	$(WITH_VENV) $(SWIFT) test
	$(WITH_VENV) REALTIME_SERVER=$$($(SWIFT) build --show-bin-path)/realtime-server \
		TFCTL=$$($(SWIFT) build --show-bin-path)/tfctl CHECKOV=$(abspath $(CHECKOV_VENV))/bin/checkov \
		python -m pytest -q -rs Tests/ServerTests Tests/PolicyTests

venv: $(VENV)/installed

$(VENV)/installed: $(REQUIREMENTS)
	$(PYTHON) -m venv --clear $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r Tests/requirements.txt
	touch $@

checkov: $(CHECKOV_VENV)/installed

$(CHECKOV_VENV)/installed: Tests/PolicyTests/requirements.txt
	$(PYTHON) -m venv --clear $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -r Tests/PolicyTests/requirements.txt
	touch $@

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
## its baseline), then the local topology under tfctl loadtest, through the front door and direct (redis-server
## and haproxy).
bench: $(VENV)/bench-installed
	$(SWIFT) build -c release --product tfctl
	$(SWIFT) build -c release --product realtime-server
	$(VENV)/bin/python Benchmarks/render_bench.py $$($(SWIFT) build -c release --show-bin-path)/tfctl
	$(VENV)/bin/python Benchmarks/server_bench.py $$($(SWIFT) build -c release --show-bin-path)/realtime-server
	$(VENV)/bin/python Benchmarks/local_bench.py $$($(SWIFT) build -c release --show-bin-path)/tfctl

$(VENV)/bench-installed: $(VENV)/installed Benchmarks/requirements.txt
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r Benchmarks/requirements.txt
	touch $@

## The long pass of the hostile-input and churn harness (Tests/ServerTests/hostile.py; make test runs a short
## one) against the release build with a real redis-server: every category twice, 10 s each, then up to 15 s for
## the descriptors to come back and 15 s of quiet, with the descriptors, RSS and canary clients watched (about 30
## minutes).
soak: venv
	$(SWIFT) build -c release --product realtime-server
	$(WITH_VENV) REALTIME_SERVER=$$($(SWIFT) build -c release --show-bin-path)/realtime-server python Tests/ServerTests/hostile.py --seconds 10 --idle 15

## Renders the bundled example environment and lists what it wrote.
demo: build
	$$($(SWIFT) build --show-bin-path)/tfctl render --env prod
	find out/prod -type f | sort

clean:
	rm -rf .build out $(VENV)
