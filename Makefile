# The README's two commands are `make run` and `make test`; the targets below install what
# they need first (Python venvs from PyPI, onnxruntime-web from npm, system packages from apt).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
DEV_VENV := .venv
DEV_PY := $(DEV_VENV)/bin/python
SERVE_VENV := .venv-serve
VENDOR := frontend/static/vendor/onnxruntime-web
PYTEST_ARGS ?=
# Debian packages: nginx for the frontend tier, Chromium for the browser tests, wrk for the
# load benchmark, debootstrap/systemd-nspawn/iproute2/curl for the deployment lab and pebble
# (Let's Encrypt's test server) with openssl for its HTTPS, PostgreSQL for the feedback
# store's tests.
RUN_PACKAGES := nginx
TEST_PACKAGES := nginx chromium wrk debootstrap systemd-container iproute2 curl postgresql \
  pebble openssl

.PHONY: help
help:  ## list the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

# --- environments ---------------------------------------------------------------------------
$(DEV_VENV)/.installed: requirements-dev.txt training/requirements.txt backend/requirements.txt \
  serverless/requirements.txt
	$(PYTHON) -m venv $(DEV_VENV)
	$(DEV_PY) -m pip install --quiet --upgrade pip
	$(DEV_PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(SERVE_VENV)/.installed: backend/requirements.txt
	$(PYTHON) -m venv $(SERVE_VENV)
	$(SERVE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SERVE_VENV)/bin/python -m pip install --quiet -r backend/requirements.txt
	touch $@

$(VENDOR)/.installed: frontend/package.json frontend/package-lock.json frontend/scripts/vendor.mjs
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent vendor
	touch $@

.PHONY: dev serve-env vendor run-packages test-packages
dev: $(DEV_VENV)/.installed  ## .venv: every tier's requirements and the dev tools
serve-env: $(SERVE_VENV)/.installed  ## .venv-serve: the backend's serving requirements only
vendor: $(VENDOR)/.installed  ## onnxruntime-web from npm into frontend/static/vendor/
run-packages:
	scripts/install-system-packages.sh $(RUN_PACKAGES)
test-packages:
	scripts/install-system-packages.sh $(TEST_PACKAGES)

# --- the app --------------------------------------------------------------------------------
.PHONY: run
run: run-packages serve-env vendor  ## the whole app on http://localhost:8080 (no Docker)
	scripts/run-local.sh

# --- tests and checks -----------------------------------------------------------------------
.PHONY: test
test: test-packages dev serve-env vendor  ## every test suite (installs what it needs first)
	source scripts/mnist-env.sh && $(DEV_PY) -m pytest $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: dev serve-env  ## only the quick suites (no notebook, browser, compose, netns, AWS)
	source scripts/mnist-env.sh && $(DEV_PY) -m pytest -m "not slow" $(PYTEST_ARGS)

.PHONY: lint
lint: dev  ## ruff and ansible-lint
	$(DEV_PY) -m ruff check .
	cd deploy/ansible && PATH=$(CURDIR)/$(DEV_VENV)/bin:$$PATH ansible-lint

# --- deployment (AWS; see the README) --------------------------------------------------------
# Which deployment: deploy/ansible/deployment.env, unless the environment or the command line
# names another (make provision MNIST_ENVIRONMENT=staging); the inventory and the playbooks
# read the same variables.
deployment_setting = $(or $($(1)),$(shell sed -n 's/^$(1)=//p' deploy/ansible/deployment.env))
export MNIST_PROJECT := $(call deployment_setting,MNIST_PROJECT)
export MNIST_ENVIRONMENT := $(call deployment_setting,MNIST_ENVIRONMENT)
export MNIST_AWS_REGION := $(call deployment_setting,MNIST_AWS_REGION)
ANSIBLE := @echo "deployment: $(MNIST_PROJECT) $(MNIST_ENVIRONMENT) in $(MNIST_AWS_REGION)" && \
  cd deploy/ansible && ../../$(DEV_VENV)/bin/ansible-playbook
ANSIBLE_ARGS ?=

.PHONY: provision site rollout train-aws teardown
provision: dev  ## AWS network and instances (needs ANSIBLE_ARGS="-e admin_cidr=YOUR.IP/32")
	$(ANSIBLE) provision.yml $(ANSIBLE_ARGS)
site: dev vendor  ## configure bastion, backends and frontend on AWS
	$(ANSIBLE) site.yml $(ANSIBLE_ARGS)
rollout: dev  ## send models/registry.json to the AWS backends: one first, health-gated
	$(ANSIBLE) rollout.yml $(ANSIBLE_ARGS)
train-aws: dev  ## run the notebook on a temporary AWS instance and fetch the model
	$(ANSIBLE) train.yml $(ANSIBLE_ARGS)
teardown: dev  ## remove everything provision.yml created
	$(ANSIBLE) teardown.yml $(ANSIBLE_ARGS)

# --- serverless (AWS Lambda behind an API Gateway HTTP API; see the README) --------------------
.PHONY: serverless-package serverless serverless-local serverless-rollback serverless-teardown
serverless-package: dev  ## build/serverless/: the Lambda package of VERSION (default production)
	$(DEV_PY) -m serverless.build $(if $(VERSION),--version $(VERSION))
serverless: serverless-package  ## deploy the package to Lambda + HTTP API, print the URL
	$(ANSIBLE) serverless.yml $(ANSIBLE_ARGS)
serverless-local: serverless-package  ## the package behind a local API Gateway on 127.0.0.1:9000
	$(DEV_PY) -m serverless.local
serverless-rollback: dev  ## the API serves the function version before the live one
	$(ANSIBLE) serverless-rollback.yml $(ANSIBLE_ARGS)
serverless-teardown: dev  ## remove the serverless stack and its package bucket
	$(ANSIBLE) serverless-teardown.yml $(ANSIBLE_ARGS)

# --- model versions (models/registry.json; running backends follow within seconds) ----------
VERSIONS := $(SERVE_VENV)/bin/python -m backend.versions
VERSION ?=
WEIGHT ?= 0.1
EVAL ?=
DATA ?= $(MNIST_NPZ)  # an npz, a folder or a zip of images

.PHONY: models canary abort promote rollback evaluate compare
models: serve-env  ## list the model versions, their roles and traffic weights
	$(VERSIONS) list
canary: serve-env  ## serve VERSION=<hash> to WEIGHT=0.1 of the clients
	$(VERSIONS) canary $(VERSION) --weight $(WEIGHT)
abort: serve-env  ## drop the candidate: production serves everyone
	$(VERSIONS) abort
promote: serve-env  ## the candidate becomes production if no worse on EVAL (default $$MNIST_NPZ)
	$(VERSIONS) promote $(if $(EVAL),--eval $(EVAL))
rollback: serve-env  ## undo the last promotion
	$(VERSIONS) rollback
evaluate: serve-env  ## score VERSION (default production) on DATA (npz, folder, zip; $$MNIST_NPZ)
	$(SERVE_VENV)/bin/python -m backend.batch evaluate --version $(or $(VERSION),production) \
	  --data $(DATA) --out batch-results
compare: serve-env  ## production and candidate side by side on DATA: batch-results/report.html
	$(SERVE_VENV)/bin/python -m backend.batch compare production candidate --data $(DATA) \
	  --out batch-results

# --- visitors' feedback (backend/feedback/; the database of FEEDBACK_DATABASE_URL) ----------
FEEDBACK := $(SERVE_VENV)/bin/python -m backend.feedback
FEEDBACK_EXPORT ?= training/data/corrections.npz

.PHONY: feedback export-feedback
feedback: serve-env  ## the 20 most recent answers with their 28x28 images (accept/reject: see README)
	$(FEEDBACK) list --thumbnails -n 20
export-feedback: serve-env  ## accepted corrections -> $(FEEDBACK_EXPORT), for make train CORRECTIONS=...
	$(FEEDBACK) export $(FEEDBACK_EXPORT)

# --- training and benchmarks ----------------------------------------------------------------
.PHONY: train
CORRECTIONS ?=  # an export of visitors' corrections (make export-feedback) to train with

train: dev  ## the full notebook run (CORRECTIONS=<npz> to learn from visitors' corrections)
	source scripts/mnist-env.sh && cd training && \
	  ../$(DEV_PY) -m papermill mnist_cnn.ipynb mnist_cnn.ipynb --log-output \
	  $(if $(strip $(CORRECTIONS)),-p CORRECTIONS $(abspath $(strip $(CORRECTIONS))))

.PHONY: bench bench-hostile bench-zipcodes bench-rollout bench-serverless
bench: test-packages dev serve-env  ## load benchmark: three payloads and the naive app (req/s, p50/p99, RSS)
	$(DEV_PY) -m benchmarks.load
bench-hostile: dev serve-env  ## two attackers beside a legitimate client (times, p99, peak RSS)
	$(DEV_PY) -m benchmarks.hostile
bench-zipcodes: dev  ## number mode on 1,000 ZIP codes: pen strokes, then the same numbers as scans
	source scripts/mnist-env.sh && $(DEV_PY) -m benchmarks.zipcodes
bench-rollout: test-packages dev serve-env  ## promote and roll back under wrk at 16 connections
	$(DEV_PY) -m benchmarks.rollout
bench-serverless: dev  ## the Lambda package's sizes and its cold start in a clean python3.13
	$(DEV_PY) -m benchmarks.serverless
