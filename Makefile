# Heitje: the two commands a new user needs (see README.md).
#   make demo   set everything up, then start the embedded chain, deploy, seed a realistic
#               Heerlen and serve the API (http://127.0.0.1:8000/docs); Ctrl-C stops it
#   make story  the contract's story in plain words, played through brownie
#   make test   set everything up, then run every test
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# brownie keeps ~/.brownie; no .env is read.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo story test test-contracts test-lib slither gas bench-rewards bench-api bench-audit bench-network ledger-gen compile artifact clean

setup:
	@bash tools/setup.sh

compile: setup
	brownie compile

# Copy the compiled contract into the package (heitje_chain/data), so `heitje` needs no brownie.
artifact: compile
	python tools/export_artifact.py

demo: setup
	python -m api.demo

story: setup
	brownie run scripts/demo.py --network anvil

test: setup
	bash tools/run-tests.sh

test-contracts: setup
	brownie test tests/contracts --network anvil

test-lib: setup
	python -m pytest -p no:pytest-brownie tests/lib

slither: setup
	python tools/slither_check.py

gas: setup
	brownie run scripts/gas_benchmark.py --network anvil

# The service under load: N payments and N approvals over HTTP, next to heitje_chain directly.
bench-api: setup
	python benchmarks/api_load.py

# Rewarding 1,000 and 10,000 jobs: naive vs pipelined vs batched (issue 3's targets).
bench-rewards: setup
	python benchmarks/rewards.py

# A large ledger on the embedded chain for the auditor's benchmark, kept in .bench/
# (EVENTS=100000 by default; 1000000 takes about 20 minutes).
ledger-gen: setup
	python benchmarks/ledger_gen.py --events $(or $(EVENTS),100000)

# The auditor on ledgers of 100,000 and 1,000,000 events, next to a naive baseline
# (builds the ledgers first when they are missing).
bench-audit: setup
	python benchmarks/ledger_gen.py --events 100000
	python benchmarks/ledger_gen.py --events 1000000
	python benchmarks/audit.py

# Batched rewards, single rewards and payments on four local geth Clique validators, next to the
# network's gas-limited capacity, then with one validator down (docs/network.md).
bench-network: setup
	python benchmarks/network.py

clean:
	rm -rf build reports crytic-export .hypothesis .schemathesis
