# cellbook: `make demo` runs the default playbook on the local target; `make test` runs the tests.
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_PACKAGES := libcurl4-openssl-dev libssl-dev
CELLBOOK := .build/release/cellbook
# moto (a local AWS) and botocore for the sagemaker tests, nbformat and asciinema for the
# recording exports' tests (their real consumers), in one venv of their own.
TEST_VENV := $(HOME)/.cache/cellbook/test-venv
TEST_PYTHON := $(TEST_VENV)/bin/python
TEST_PACKAGES := 'moto[server]==5.2.1' 'boto3==1.43.11' 'botocore==1.43.11' 'nbformat==5.10.4' 'asciinema==2.4.0'
# The committed recording of the default playbook on the local target (tests replay it).
RECORDING := recordings/deploy-llama3-local.jsonl

.PHONY: demo test test-tools build deps runtime doctor bench clean-outputs help recording

help:
	@echo "make demo   install what is missing, build, run playbooks/deploy-llama3.yaml on the local target"
	@echo "make test   run the tests (swift test)"
	@echo "make doctor check this machine is ready for a run (TARGET=local or sagemaker)"
	@echo "make runtime install the local model server ahead of time"
	@echo "make bench  print performance figures (scripts/bench-*.sh)"
	@echo "make recording  record the default playbook on the local target into $(RECORDING)"

## System packages the build needs (libcurl and OpenSSL headers); installed only when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v python3 >/dev/null || { echo "python3 is needed for the local model server"; exit 2; }

build: deps
	swift build -c release --product cellbook

## The local model server and model (installed once into ~/.cache/cellbook; pip caches the build).
runtime: build
	$(CELLBOOK) run playbooks/deploy-llama3.yaml --only setup

## Is this machine ready for a run? A table of ok / missing / how to fix; exit 1 when something is missing.
TARGET ?= local
doctor: build
	$(CELLBOOK) doctor playbooks/deploy-llama3.yaml --target $(TARGET)

demo: build
	$(CELLBOOK) run playbooks/deploy-llama3.yaml

## What the sagemaker tests start as real parts: moto with signature checking, and botocore,
## with which the fake SageMaker checks signatures. Installed once into $(TEST_VENV).
test-tools:
	@if ! $(TEST_PYTHON) -c "import moto, boto3, botocore, nbformat, asciinema; assert moto.__version__ == '5.2.1'" 2>/dev/null; then \
	  echo "installing moto 5.2.1 (a local AWS for the sagemaker tests), nbformat and asciinema into $(TEST_VENV)"; \
	  python3 -m venv $(TEST_VENV) && \
	  $(TEST_PYTHON) -m pip install -q --disable-pip-version-check $(TEST_PACKAGES); \
	fi
	@# Headless Chromium loads the HTML export in its test.
	@command -v chromium >/dev/null || { echo "installing chromium (the HTML export's test)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# Serial: the end-to-end suite runs a real model server on the free cores, and timing checks
# in other suites should not share the machine with it.
test: deps test-tools
	CELLBOOK_TEST_PYTHON=$(TEST_PYTHON) swift test --no-parallel

## Every cell runs (--force), so the chat and benchmark exchanges are in the recording.
recording: build
	$(CELLBOOK) run playbooks/deploy-llama3.yaml --target local --force --record $(RECORDING)

bench: build
	bash scripts/bench-cli.sh

clean-outputs:
	rm -rf outputs/*/
