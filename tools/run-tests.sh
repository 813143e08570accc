#!/usr/bin/env bash
# Every test of the project, in order; `make test` runs it after `make setup`.
#   1. lint and types  (ruff, mypy --strict on the runtime library)
#   2. contract tests  (brownie test: launches anvil from npm, compiles with solcjs)
#   3. library tests   (plain pytest: heitje_chain and the `heitje` CLI against real anvils)
#   3b. auditor tests (plain pytest: heitje audit on clean and faulty ledgers, on anvil)
#   4. service tests   (plain pytest: the FastAPI service over HTTP, on anvil)
#   4b. browser tests  (plain pytest: the web app in headless Chromium, driven by Playwright)
#   4c. fault tests    (plain pytest: the real service under parallel clients, SIGKILLs of
#                       the API and of the chain, then the database reconciled with the chain)
#   5. tool tests      (plain pytest without brownie's plugin: slither on the contract)
#   6. network tests   (plain pytest: four geth Clique validators on 127.0.0.1, one killed)
# Each pytest stage writes JUnit XML to reports/tests/; the last line sums them all up.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
out=reports/tests
rm -rf "$out" && mkdir -p "$out"
status=0
stage() { printf '\n===== %s =====\n' "$1"; }

stage "lint (ruff) and types (mypy --strict)"
ruff check . || status=1
ruff format --check . || status=1
mypy || status=1

stage "contract tests (brownie on anvil)"
brownie test tests/contracts --network anvil --junitxml="$out/contracts.xml" || status=1

stage "library tests (heitje_chain and the heitje CLI on anvil)"
python -m pytest -p no:pytest-brownie tests/lib --junitxml="$out/lib.xml" || status=1

stage "auditor tests (heitje audit on clean and deliberately faulty ledgers, on anvil)"
python -m pytest -p no:pytest-brownie tests/audit --junitxml="$out/audit.xml" || status=1

stage "service tests (the API over HTTP, on anvil)"
# two pytest workers, each with its own anvil and PostgreSQL, a test file at a time: most of
# these tests wait on the chain or the database, so two at once on 2 cores take ~60% of the time
python -m pytest -p no:pytest-brownie tests/api -n 2 --dist loadfile --junitxml="$out/api.xml" || status=1

stage "browser tests (the web app in Debian's headless Chromium, through the service on anvil)"
python -m pytest -p no:pytest-brownie tests/web --junitxml="$out/web.xml" || status=1

stage "concurrency and fault tests (the real service under parallel clients, SIGKILL of the API and of the chain)"
python -m pytest -p no:pytest-brownie tests/fault --junitxml="$out/fault.xml" || status=1

stage "tool tests (slither)"
python -m pytest -p no:pytest-brownie tests/tools --junitxml="$out/tools.xml" || status=1

stage "network tests (4 geth Clique validators on 127.0.0.1, one killed, one restarted, one new)"
python -m pytest -p no:pytest-brownie tests/network -s --junitxml="$out/network.xml" || status=1

stage "summary"
python - "$out" "$status" <<'PY' || status=1
import sys, pathlib, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    for s in ET.parse(f).getroot().iter("testsuite"):
        t, fl, er, sk = (int(s.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += t - fl - er - sk; failed += fl + er; skipped += sk
        print(f"{f.stem:>12}: {t - fl - er - sk} passed, {fl + er} failed, {sk} skipped")
if passed == 0:
    print("no test ran"); failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or sys.argv[2] != "0" else 0)
PY
exit $status
