"""Copy the compiled Heitje contract from brownie's build folder into the package.

    python tools/export_artifact.py      (after `brownie compile`; `make artifact` does both)

The runtime library reads `heitje_chain/data/Heitje.json`, never brownie's build folder, so an
installed `heitje` needs neither brownie nor a compiler.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from heitje_chain.artifacts import DATA_DIR, artifact_from_build, source_sha1  # noqa: E402


def main() -> int:
    build = ROOT / "build" / "contracts" / "Heitje.json"
    if not build.exists():
        print(f"{build} is missing: run `brownie compile` first", file=sys.stderr)
        return 1
    raw = json.loads(build.read_text())
    if raw["sha1"] != source_sha1(ROOT / raw["sourcePath"]):
        print(f"{build} is older than {raw['sourcePath']}: run `brownie compile`", file=sys.stderr)
        return 1
    out = DATA_DIR / "Heitje.json"
    out.write_text(json.dumps(artifact_from_build(raw), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
