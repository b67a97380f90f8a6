# Keel: the two commands of the README are `make demo` and `make test`.
# Everything else here is a step of those two.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
WORK := $(CURDIR)/.testbed
COLLECTIONS := $(WORK)/collections
# Longest first (a clone without .testbed/durations.json starts them in this order).
SCENARIOS ?= fabric_scenario2 harden fabric_scenario3 fabric_scenario3b fivesoffice fivesoffice_two_vps postgres_backup litedesk chiroerp kafka compose_stack fabric_scenario1 awx kafka_cluster preflight inner_engine \
  fabric_awx compose_stack_mirror host

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR := 0
export NO_COLOR := 1
export PY_COLORS := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Run a step, print how long it took, keep its exit code; a failed step ends
# `make test` with the summary (testbed/run_scenarios.py summary).
phase = @printf '\n===== phase %s =====\n' '$(1)'; start=$$(date +%s); rc=0; $(2) || rc=$$?; \
        printf '===== phase %s: %ss, %s =====\n' '$(1)' "$$(( $$(date +%s) - start ))" \
          "$$( [ $$rc -eq 0 ] && echo ok || echo "FAILED (exit $$rc)")" | tee -a $(WORK)/phases.log; \
        [ $$rc -eq 0 ] || $(PYTHON) testbed/run_scenarios.py summary; exit $$rc

.PHONY: help
help:
	@echo "make demo     set up everything, converge ThermoTrace scenario 1 on a sandbox host, print the result"
	@echo "make test     set up everything and run every test (lint, unit, build, sanity, galaxy, molecule)"
	@echo "steps: venv testbed lint unit build sanity galaxy molecule (SCENARIOS='host inner_engine'), clean"

$(WORK):
	@mkdir -p $(WORK)

# The virtualenv, rebuilt when the pinned requirements change.
$(BIN)/.keel-stamp: requirements.txt constraints.txt | $(WORK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt -c constraints.txt
	@touch $@

# The collection as Ansible finds it: ansible_collections/keel/infra -> this tree.
$(COLLECTIONS)/ansible_collections/keel/infra: | $(WORK)
	@mkdir -p $(@D)
	@ln -sfn $(CURDIR) $@

.PHONY: venv
venv: $(BIN)/.keel-stamp $(COLLECTIONS)/ansible_collections/keel/infra

.PHONY: testbed
testbed: venv
	$(BIN)/python testbed/keel_testbed.py all

.PHONY: lint
lint: venv
	yamllint --strict .
	@# A private HOME: a keel.infra copy in ~/.ansible/collections (tools install one) would
	@# shadow this tree's collection and lint a stale copy.
	mkdir -p $(WORK)/lint-home && HOME=$(WORK)/lint-home ansible-lint --profile production --offline
	ruff check .
	$(BIN)/python testbed/role_readmes.py check

# The chaincode's dependencies, installed again when its lockfile changes
# (`npm ci` empties node_modules, the stamp with it).
CHAINCODE := chaincode/thermotrace
$(CHAINCODE)/node_modules/.keel-stamp: $(CHAINCODE)/package.json $(CHAINCODE)/package-lock.json
	cd $(CHAINCODE) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

.PHONY: unit
unit: venv $(CHAINCODE)/node_modules/.keel-stamp
	cd $(COLLECTIONS)/ansible_collections/keel/infra && \
	  PYTHONPATH=$(COLLECTIONS) pytest -q -p no:cacheprovider tests/unit
	cd $(CHAINCODE) && npm test

# Build the collection tarball and install it into a scratch path, as a user would.
.PHONY: build
build: venv
	rm -rf $(WORK)/build $(WORK)/installed
	ansible-galaxy collection build --output-path $(WORK)/build .
	ANSIBLE_COLLECTIONS_PATH=$(WORK)/installed ansible-galaxy collection install --offline --no-deps --force \
	  -p $(WORK)/installed $(WORK)/build/keel-infra-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(WORK)/installed ansible-doc -t filter keel.infra.image_ref > /dev/null
	ANSIBLE_COLLECTIONS_PATH=$(WORK)/installed ansible-doc -t role keel.infra.docker_engine > /dev/null

# ansible-test wants the tree at ansible_collections/keel/infra, outside any other
# git work tree (this one ignores .testbed/): run it on a copy in a scratch dir.
# Its test requirements go into a venv of their own; pip's bootstrap in the venvs
# ansible-test makes comes from testbed/get_pip_bootstrap.py (see there why).
SANITY_VENV := $(WORK)/sanity-venv
$(SANITY_VENV)/.keel-stamp: requirements.txt constraints.txt | $(WORK)
	$(PYTHON) -m venv $(SANITY_VENV)
	$(SANITY_VENV)/bin/pip install -q --upgrade pip
	$(SANITY_VENV)/bin/pip install -q ansible-core -c constraints.txt
	@touch $@

.PHONY: sanity
sanity: $(SANITY_VENV)/.keel-stamp
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  dest=$$tmp/ansible_collections/keel/infra; mkdir -p $$dest; \
	  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $$dest; \
	  ver=$$($(SANITY_VENV)/bin/python -c 'import ansible_test, pathlib, re; \
	    src = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text(); \
	    print(re.search(r"pip=.([0-9.]+).", src).group(1).replace(".", "_"))'); \
	  shim=$$HOME/.ansible/test/cache/get_pip_$$ver.py; \
	  [ -e $$shim ] || install -D -m 0644 testbed/get_pip_bootstrap.py $$shim; \
	  cd $$dest && PATH=$(SANITY_VENV)/bin:$$PATH \
	    ansible-test sanity --requirements --python 3.11 --color no

# galaxy-importer, the checks Galaxy runs on an upload, on the tarball of the last `make build`
# (made first when there is none): metadata, a README per role, each plugin's documentation as
# ansible-doc reads it from the tarball. Settings and why: testbed/galaxy-importer.cfg. The
# importer logs what it finds and exits 0 unless the import itself fails, so any ERROR or
# WARNING line fails the step too.
.PHONY: galaxy
galaxy: venv
	@ls $(WORK)/build/keel-infra-*.tar.gz > /dev/null 2>&1 || $(MAKE) --no-print-directory build
	cd $(WORK)/build && GALAXY_IMPORTER_CONFIG=$(CURDIR)/testbed/galaxy-importer.cfg \
	  python -m galaxy_importer.main keel-infra-*.tar.gz | tee $(WORK)/galaxy-importer.log
	@if grep -E '^(ERROR|WARNING):' $(WORK)/galaxy-importer.log; then \
	  echo "galaxy-importer: Galaxy would refuse or flag the collection for the lines above"; exit 1; fi

# Scenarios run side by side, MOLECULE_JOBS at a time (3 fits 2 cores and 24 GiB:
# most of a scenario's time is spent waiting on the services it starts), each
# with its log in .testbed/logs/. fabric_* scenarios run only when the test bed
# found the Fabric images (Keel never builds them); otherwise they are reported
# as skipped with the test bed's reason. See testbed/run_scenarios.py.
MOLECULE_JOBS ?= 3
.PHONY: molecule
molecule: venv
	$(BIN)/python testbed/run_scenarios.py run --jobs $(MOLECULE_JOBS) $(SCENARIOS)

.PHONY: test
test: | $(WORK)
	@: > $(WORK)/phases.log; rm -f $(WORK)/scenarios.json
	$(call phase,venv,$(MAKE) --no-print-directory venv)
	$(call phase,engine and images,$(MAKE) --no-print-directory testbed)
	$(call phase,lint,$(MAKE) --no-print-directory lint)
	$(call phase,unit,$(MAKE) --no-print-directory unit)
	$(call phase,build and install,$(MAKE) --no-print-directory build)
	$(call phase,sanity,$(MAKE) --no-print-directory sanity)
	$(call phase,galaxy,$(MAKE) --no-print-directory galaxy)
	$(call phase,molecule,$(MAKE) --no-print-directory molecule)
	@$(PYTHON) testbed/run_scenarios.py summary

.PHONY: demo
demo: testbed
	@# Pipelining as in Molecule (.config/molecule/config.yml): a quarter off a no-op converge.
	ANSIBLE_PIPELINING=1 ansible-playbook testbed/demo.yml

.PHONY: clean
clean:
	rm -rf $(WORK)/build $(WORK)/installed

.PHONY: demo-clean
demo-clean:
	-docker rm -f keel-demo
	-docker volume rm keel-demo-docker
