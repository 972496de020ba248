# The only entry point. Every target bootstraps what it needs (.venv, node_modules, the Lambda
# bundles) and does nothing extra when that is already current.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
ENV ?= dev
STACK ?= dev
# Required by the transactions stack (its alarms e-mail on-call); the example shows the subscription
# in `make synth-all`, and the deploy target refuses it.
EXAMPLE_ALARM_EMAIL := oncall@example.com
TRANSACTIONS_ALARM_EMAIL ?= $(EXAMPLE_ALARM_EMAIL)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Node 22 from node_modules first (Node 20 is end-of-life; jsii warns on every run), then the venv.
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
# What each deploy command gets beyond ENV / STACK, passed through word for word (README: Deploy a stack):
# CDK context and flags (CDK_ARGS="-c certificate_arn=arn:... -c alb_domain_name=api.example.org"),
# cdktn flags (CDKTF_ARGS="--auto-approve"; settings are TRANSACTIONS_* variables), Pulumi config
# and flags (PULUMI_ARGS="-c alertEmail=oncall@example.org --yes"). The preflight reads the same.
CDK_ARGS ?=
CDKTF_ARGS ?=
PULUMI_ARGS ?=
PYTEST_ARGS ?=
TESTS ?= tests
# pytest-xdist workers for `make test` (0: one process); tests/conftest.py schedules each stack's
# test directory on one worker, so every stack is still synthesized once per run.
TEST_WORKERS ?= 2
# FORCE=1: synthesize even the stacks whose inputs did not change.
FORCE ?=

VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help bootstrap lambdas bench synth-all synth-cdk-payments synth-cdktf-transactions synth-pulumi-fraud-pipeline \
        synth-pulumi-trading-dr test lint check policies catalogue preview-pulumi-fraud-pipeline deploy-pulumi-fraud-pipeline \
        destroy-pulumi-fraud-pipeline preview-pulumi-trading-dr deploy-pulumi-trading-dr destroy-pulumi-trading-dr \
        drill-pulumi-trading-dr failover-pulumi-trading-dr failback-pulumi-trading-dr reconcile-pulumi-trading-dr \
        deploy-cdk-payments destroy-cdk-payments diff-cdk-payments \
        deploy-cdktf-transactions destroy-cdktf-transactions plan-cdktf-transactions cdktf-transactions-state jsii-runtime-index \
        preflight-cdk-payments preflight-cdktf-transactions preflight-pulumi-fraud-pipeline preflight-pulumi-trading-dr \
        clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 24

# $(call elapsed,<what>,<since>): one progress line, "<what> in 12.3 s" ($$EPOCHREALTIME: bash 5).
elapsed = awk -v t0="$(2)" -v t1="$$EPOCHREALTIME" 'BEGIN { printf "%s in %.1f s\n", "$(1)", t1 - t0 }'

$(VENV_STAMP): pyproject.toml
	@t0=$$EPOCHREALTIME; echo "bootstrap: .venv (pip install --group dev) ..."; \
	  test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV); \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check pip==26.3; \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check --group dev; \
	  touch $@; $(call elapsed,bootstrap: .venv installed,$$t0)

$(NODE_STAMP): package.json package-lock.json
	@t0=$$EPOCHREALTIME; echo "bootstrap: node_modules (npm ci) ..."; \
	  npm ci --no-audit --no-fund --loglevel=error; \
	  $(call elapsed,bootstrap: node_modules installed,$$t0)
	@# node@22's preinstall fetches the binary (allowScripts in package.json); fail here, not in jsii.
	@node_modules/.bin/node --version | grep -q '^v22\.' || { echo "node_modules/.bin/node is not Node 22" >&2; exit 1; }
	@touch $@

bootstrap: $(VENV_STAMP) $(NODE_STAMP) ## create .venv and node_modules (pinned)

lambdas: bootstrap ## build the Lambda bundles and the shared layer into build/lambda (python3.12, x86_64)
	@$(BIN)/python -m lambda_src.build

# tools/synth.py: one process per framework, in parallel, after building the Lambda bundles (and, for
# the transactions synth, jsii's runtime index); a stack whose inputs (code, lambda_src, pins,
# config, settings) did not change is not synthesized again (FORCE=1 does). Silent when current.
SYNTH = TRANSACTIONS_ALARM_EMAIL=$(TRANSACTIONS_ALARM_EMAIL) $(BIN)/python -m tools.synth --env $(ENV) \
  --stack $(STACK) $(if $(FORCE),--force) $(if $(SYNTH_CHECKS),--checks)
# `make check` (and what it runs first) synthesizes the payments app with every validation: AWS
# Control Tower's proactive controls and CDK's built-in CloudFormation validation as well as
# cdk-nag's packs; other synths leave those two out (about 7 s; README "Performance").
SYNTH_CHECKS ?=

synth-all: bootstrap cdktf-transactions-state ## synthesize every stack into out/, in parallel, only what changed (docs/synth.md: output contract)
	@$(SYNTH)

synth-cdk-payments: bootstrap ## out/cdk_payments/: the CDK cloud assembly (ENV=dev)
	@$(SYNTH) cdk_payments

# The app runs on CDK Terrain (cdktn, CDKTF's maintained fork; its README); the pinned cdktn CLI
# (package.json) is only needed for deploy and make check. Settings: TRANSACTIONS_* (main.py).
synth-cdktf-transactions: bootstrap cdktf-transactions-state ## out/cdktf_transactions/: the CDKTF output (TRANSACTIONS_ENV=dev)
	@$(SYNTH) cdktf_transactions

# Before a synth deletes out/cdktf_transactions/: a local state file the layout before 40b4ea3 kept
# there moves to cdktf_transactions/state/<region>/ (cdktf_transactions/backend.py); no Python when none.
cdktf-transactions-state: bootstrap
	@! ls out/cdktf_transactions/stacks/transactions-*/terraform.transactions-*.tfstate >/dev/null 2>&1 || \
	  $(BIN)/python -m cdktf_transactions.backend

# Once per machine, about 5 s: jsii's runtime index of the AWS provider, without which every
# transactions synth parses the provider's whole assembly (cdktf_transactions/runtime_index.py).
# Silent when the index is there. The synth targets build it in tools/synth.py instead.
jsii-runtime-index: bootstrap ## once per machine (about 5 s): jsii's runtime index of the AWS provider, which every transactions synth reads
	@$(BIN)/python -m cdktf_transactions.runtime_index

synth-pulumi-fraud-pipeline: bootstrap ## out/pulumi_fraud_pipeline/resources.json: the program under mocks (STACK=dev)
	@$(SYNTH) pulumi_fraud_pipeline

synth-pulumi-trading-dr: bootstrap ## out/pulumi_trading_dr/resources.json: both regions, under mocks (STACK=dev)
	@$(SYNTH) pulumi_trading_dr

test: lambdas jsii-runtime-index ## the whole suite (TESTS=tests/cdk_payments for one stack; TEST_WORKERS=0 for one process)
	$(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadscope \
	  --no-loadscope-reorder) $(TESTS) $(PYTEST_ARGS)

BENCH_ARGS ?=
bench: lambdas jsii-runtime-index ## wall time and peak memory of synth and test against the floors, Lambda packages (README table)
	$(BIN)/python -m tools.bench $(BENCH_ARGS)

lint: bootstrap ## ruff (lint + format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# One line per stage of a long target, with its elapsed seconds (tools/stage.py).
STAGE = $(BIN)/python -m tools.stage
CHECKOV_STAMP := .venv-checkov/.installed
$(CHECKOV_STAMP): pyproject.toml
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check pip==26.3
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check --group checkov
	touch $@

# Each scanner's acknowledgements, with reasons: docs/scanners.md. checkov always gets its
# --config-file: without one it silently reads ./.checkov.yaml (the CDKTF skips).
check: SYNTH_CHECKS := 1
check: synth-all policies $(CHECKOV_STAMP) ## scanners over out/: cfn-lint, cdk-nag + Control Tower (in the synth), checkov, asl-validator, HCL, the policy suite
	@$(STAGE) "check: cfn-lint" -- $(BIN)/cfn-lint out/cdk_payments/*.template.json
	@# cdk-nag (AwsSolutions, PCI DSS 3.2.1) and cfn-guard (Control Tower) ran in the synth, which
	@# fails on an unacknowledged finding; this fails if one of them did not run.
	@$(STAGE) "check: cdk-nag and Control Tower report" -- \
	  $(BIN)/python -m cdk_payments.validation_report out/cdk_payments/validation-report.json
	@$(STAGE) "check: checkov cloudformation" -- .venv-checkov/bin/checkov --quiet --compact --skip-download \
	  --framework cloudformation --config-file .checkov.cloudformation.yaml -f out/cdk_payments/*.template.json
	@$(STAGE) "check: checkov terraform_json" -- .venv-checkov/bin/checkov --quiet --compact --skip-download \
	  --framework terraform_json --config-file .checkov.yaml -f out/cdktf_transactions/stacks/transactions-$(ENV)/cdk.tf.json
	@$(STAGE) "check: asl-validator" -- \
	  $(BIN)/python -m cdktf_transactions.asl_check out/cdktf_transactions/stacks/*/cdk.tf.json
	@# The runtime index first: synth-all builds it only when it synthesizes the transactions stack.
	@$(BIN)/python -m cdktf_transactions.runtime_index
	@# cdktf_transactions/README.md's exit route: `cdktn synth --hcl` must write HCL that parses (no terraform fmt here).
	@$(STAGE) "check: cdktn synth --hcl parses" -- bash -c 'hcl=$$(mktemp -d) && trap "rm -rf $$hcl" EXIT && \
	  (cd cdktf_transactions && CHECKPOINT_DISABLE=1 TRANSACTIONS_ENV=$(ENV) \
	    TRANSACTIONS_ALARM_EMAIL=$(TRANSACTIONS_ALARM_EMAIL) cdktn synth --hcl --output "$$hcl" >/dev/null 2>&1) && \
	  $(BIN)/python -m cdktf_transactions.hcl_check "$$hcl/stacks/transactions-$(ENV)/cdk.tf"'

# Graphviz is Debian's `graphviz` package (not installed by bootstrap); checked before the synth runs.
.PHONY: diagrams
diagrams: bootstrap ## architecture diagrams from out/ (runs synth-all): out/<stack>/diagram.svg, docs/diagrams/<stack>.png
	@command -v dot >/dev/null || { echo "make diagrams needs Graphviz's dot: apt-get install graphviz" \
	  "(Debian, Ubuntu) or brew install graphviz (macOS)" >&2; exit 1; }
	$(MAKE) --no-print-directory synth-all
	$(BIN)/python -m diagrams

# Anyone's outputs: python -m policies check PATH ... (policies/README.md).
POLICIES_ARGS ?=
policies: synth-all ## the cross-framework policy suite over out/ (POLICIES_ARGS="--min-severity high --format json")
	@$(STAGE) "policies" -- $(BIN)/python -m policies check --config policies/config.toml \
	  --allowlist policies/allowlist.toml $(POLICIES_ARGS) \
	  out/cdk_payments out/cdktf_transactions out/pulumi_fraud_pipeline/resources.json \
	  out/pulumi_trading_dr/resources.json

# policies/README.md's comparison with checkov, on tests/policies/corpus/ (about a minute).
.PHONY: policies-compare
policies-compare: bootstrap $(CHECKOV_STAMP) ## the policy suite next to checkov on the outside corpus (tests/policies/corpus/)
	$(BIN)/python -m tools.policy_compare --checkov .venv-checkov/bin/checkov

catalogue: bootstrap ## print the failure catalogue: id -> fix -> guarding tests (Markdown)
	$(BIN)/python -m catalogue

# Preflight (preflight/, README: Deploy): what a deploy needs from the account and the settings,
# one line per check, read-only; every deploy-* runs it first and stops on a failed check.
PREFLIGHT = $(BIN)/python -m preflight
preflight-cdk-payments: bootstrap ## credentials, API Gateway logs role, CDK bootstrap, certificate, no example left (ENV, CDK_ARGS)
	@$(PREFLIGHT) cdk_payments --env $(ENV) -- $(CDK_ARGS)

deploy-cdk-payments: lambdas preflight-cdk-payments ## cdk deploy payments-$(ENV) (CDK_ARGS="-c certificate_arn=... -c blue_weight=90 ...")
	cd cdk_payments && cdk deploy --no-notices --require-approval broadening -c env=$(ENV) $(CDK_ARGS) payments-$(ENV)

diff-cdk-payments: lambdas ## cdk diff against the deployed payments stack (ENV, CDK_ARGS)
	cd cdk_payments && cdk diff --no-notices -c env=$(ENV) $(CDK_ARGS) payments-$(ENV)

destroy-cdk-payments: bootstrap ## cdk destroy the payments stack (ENV, CDK_ARGS; prod keeps its data)
	cd cdk_payments && cdk destroy --no-notices -c env=$(ENV) $(CDK_ARGS) payments-$(ENV)

# The cdktn CLI runs the app (cdktf.json), then Terraform in out/cdktf_transactions/stacks/<stack>/;
# afterwards the provider lock file Terraform wrote there is kept in cdktf_transactions/ (commit it),
# where no synth deletes it, and the app copies it back into a fresh stack folder.
# CHECKPOINT_DISABLE: no call to HashiCorp's version-check service (as in make check).
CDKTN = cd cdktf_transactions && CHECKPOINT_DISABLE=1 TRANSACTIONS_ENV=$(ENV) \
  TRANSACTIONS_ALARM_EMAIL=$(TRANSACTIONS_ALARM_EMAIL) cdktn
# $(call with_lock,<command>): the cdktn command, then the lock file kept whether it succeeded or not.
with_lock = status=0; ($(CDKTN) $(1) $(CDKTF_ARGS) transactions-$(ENV)) || status=$$?; \
  $(BIN)/python -m cdktf_transactions.backend --keep-lock transactions-$(ENV); exit $$status
preflight-cdktf-transactions: cdktf-transactions-state ## terraform, credentials, state present or TRANSACTIONS_NEW_STACK=1, no example e-mail (ENV)
	@TRANSACTIONS_ALARM_EMAIL=$(TRANSACTIONS_ALARM_EMAIL) $(PREFLIGHT) cdktf_transactions --env $(ENV)

deploy-cdktf-transactions: bootstrap jsii-runtime-index preflight-cdktf-transactions ## cdktn deploy transactions-$(ENV) (TRANSACTIONS_ALARM_EMAIL=<on-call>, CDKTF_ARGS)
	$(call with_lock,deploy)

plan-cdktf-transactions: bootstrap jsii-runtime-index ## cdktn diff (terraform plan) for transactions-$(ENV) (CDKTF_ARGS)
	$(call with_lock,diff)

destroy-cdktf-transactions: bootstrap jsii-runtime-index ## cdktn destroy transactions-$(ENV) (CDKTF_ARGS)
	$(call with_lock,destroy)

# The Pulumi CLI is not installed by this repo (its plugins download at run time); see the READMEs.
preflight-pulumi-fraud-pipeline: bootstrap ## pulumi, credentials, API Gateway logs role, no example e-mail (STACK, PULUMI_ARGS)
	@$(PREFLIGHT) pulumi_fraud_pipeline --stack $(STACK) -- $(PULUMI_ARGS)

preview-pulumi-fraud-pipeline: lambdas ## pulumi preview of the fraud pipeline (STACK, PULUMI_ARGS)
	cd pulumi_fraud_pipeline && pulumi preview --stack $(STACK) $(PULUMI_ARGS)

deploy-pulumi-fraud-pipeline: lambdas preflight-pulumi-fraud-pipeline ## pulumi up the fraud pipeline (STACK, PULUMI_ARGS="-c alertEmail=...")
	cd pulumi_fraud_pipeline && pulumi up --stack $(STACK) $(PULUMI_ARGS)

destroy-pulumi-fraud-pipeline: bootstrap ## pulumi destroy the fraud pipeline (STACK, PULUMI_ARGS)
	cd pulumi_fraud_pipeline && pulumi destroy --stack $(STACK) $(PULUMI_ARGS)

preflight-pulumi-trading-dr: bootstrap ## pulumi, credentials, logs role in both regions, hosted zone, no example left (STACK, PULUMI_ARGS)
	@$(PREFLIGHT) pulumi_trading_dr --stack $(STACK) -- $(PULUMI_ARGS)

preview-pulumi-trading-dr: lambdas ## pulumi preview of the trading DR stack, both regions (STACK, PULUMI_ARGS)
	cd pulumi_trading_dr && pulumi preview --stack $(STACK) $(PULUMI_ARGS)

deploy-pulumi-trading-dr: lambdas preflight-pulumi-trading-dr ## pulumi up the trading DR stack, both regions (STACK, PULUMI_ARGS)
	cd pulumi_trading_dr && pulumi up --stack $(STACK) $(PULUMI_ARGS)

destroy-pulumi-trading-dr: bootstrap ## pulumi destroy the trading DR stack (STACK, PULUMI_ARGS; prod is protected)
	cd pulumi_trading_dr && pulumi destroy --stack $(STACK) $(PULUMI_ARGS)

drill-pulumi-trading-dr: ## planned switchover drill to the secondary (no data loss; needs the AWS CLI)
	cd pulumi_trading_dr && aws lambda invoke \
	  --region "$$(pulumi config get secondaryRegion --stack $(STACK))" \
	  --function-name "$$(pulumi stack output failover_function_arn --stack $(STACK))" \
	  --cli-binary-format raw-in-base64-out \
	  --payload '{"source": "trading-dr.drill", "detail-type": "Failover drill", "detail": {"mode": "switchover"}}' \
	  /dev/stdout

# Operator commands (pulumi_trading_dr/ops.py; its README, "Runbooks"). Each reads the stack's outputs.
CONFIRM ?=
REASON ?=
FORCE_DATA_LOSS ?=
OPS = $(BIN)/python -m pulumi_trading_dr.ops
failover-pulumi-trading-dr: bootstrap ## promote the secondary (CONFIRM=<global cluster id> REASON="..."; may lose unreplicated writes)
	@$(OPS) failover --stack $(STACK) --confirm "$(CONFIRM)" --reason "$(REASON)" $(if $(FORCE_DATA_LOSS),--force-data-loss)

failback-pulumi-trading-dr: bootstrap ## after a failover: refresh, switch back without data loss, wait for the gates
	@$(OPS) failback --stack $(STACK)

SINCE ?=
REPAIR ?=
reconcile-pulumi-trading-dr: bootstrap ## compare orders table and ledger since SINCE=<ISO 8601>; REPAIR=1 fixes the gaps
	@$(OPS) reconcile --stack $(STACK) --since "$(SINCE)" $(if $(REPAIR),--repair)

clean: ## remove generated output (out/, build/, caches); never a Terraform state an old layout kept in out/
	@! ls out/cdktf_transactions/stacks/transactions-*/terraform.transactions-*.tfstate >/dev/null 2>&1 || \
	  { echo "out/ holds a Terraform state (an earlier layout): make cdktf-transactions-state moves it first" >&2; exit 1; }
	rm -rf out build .pytest_cache .ruff_cache cdk_payments/cdk.out
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -not -path './node_modules/*' -prune -exec rm -rf {} +

distclean: clean ## also remove .venv and node_modules
	rm -rf $(VENV) .venv-checkov node_modules
