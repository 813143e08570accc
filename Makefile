# Heitje: the two commands a new user needs (see README.md).
#   make demo   set everything up, then play the demo story on the embedded anvil chain
#   make test   set everything up, then run every test
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# brownie keeps ~/.brownie; no .env is read.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test test-contracts slither gas compile clean

setup:
	@bash tools/setup.sh

compile: setup
	brownie compile

demo: setup
	brownie run scripts/demo.py --network anvil

test: setup
	bash tools/run-tests.sh

test-contracts: setup
	brownie test tests/contracts --network anvil

slither: setup
	python tools/slither_check.py

gas: setup
	brownie run scripts/gas_benchmark.py --network anvil

clean:
	rm -rf build reports crytic-export .hypothesis
