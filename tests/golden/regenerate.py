"""Rewrite the golden plans and household digests from the current code.

Run only when a change is meant to alter figures, and say why in the commit and in README.md here:
    .venv/bin/python tests/golden/regenerate.py [scenario-name ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from test_golden import GOLDEN, LIBRARY, digest  # noqa: E402

from simulator import plans, scenario  # noqa: E402


def main(names: list[str]) -> None:
    digests_path = GOLDEN / "households.sha256"
    digests = dict(line.split() for line in digests_path.read_text().splitlines() if line.strip())
    for path in LIBRARY:
        if names and path.stem not in names:
            continue
        scn = scenario.load(path)
        res = plans.run(scn, base=path.parent, households=20_000)
        (GOLDEN / f"{scn.name}.json").write_text(json.dumps(res.plan, indent=1, default=str) + "\n")
        digests[scn.name] = digest(res.households)
        print(f"regenerated {scn.name}")
    digests_path.write_text("".join(f"{k} {v}\n" for k, v in sorted(digests.items())))


if __name__ == "__main__":
    main(sys.argv[1:])
