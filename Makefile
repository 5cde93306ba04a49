# Two entry points: `make demo` and `make test`. Everything they need is installed on first use.
SHELL := /bin/bash
# Python 3.11, as the README says: Debian 12's own python3, installed with its venv module when missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages: the sandbox runs a real Prometheus; the tests also need PostgreSQL and Chromium.
DEMO_PACKAGES := prometheus
TEST_PACKAGES := prometheus postgresql chromium

.PHONY: demo test sandbox down bench screenshots clean-sandbox

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { $(call install_debian_now,python3.11 python3.11-venv); }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

define install_debian_now
missing=""; for package in $(1); do dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

define install_debian
	@$(call install_debian_now,$(1))
endef

demo: $(STAMP)
	$(call install_debian,$(DEMO_PACKAGES))
	$(BIN)/python -m console.sandbox demo

sandbox: $(STAMP)
	$(call install_debian,$(DEMO_PACKAGES))
	$(BIN)/python -m console.sandbox up

down: $(STAMP)
	$(BIN)/python -m console.sandbox down

test: $(STAMP)
	$(call install_debian,$(TEST_PACKAGES))
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(call install_debian,$(TEST_PACKAGES))
	$(BIN)/python bench/bench_pages.py

screenshots: $(STAMP)
	$(call install_debian,$(TEST_PACKAGES))
	$(BIN)/python -m tests.e2e.screenshots

clean-sandbox: down
	rm -rf .sandbox .sandbox.new
