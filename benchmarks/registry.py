"""Benchmark: generate a synthetic registry of N households to GeoParquet, chunk by chunk.

Prints one JSON line: households, seconds, peak_rss_mb, file_mb, households_per_second.
The target (issue 2): N = 35,000,000 (the NSER's size) fits in 24 GB on this 2-core machine.

    .venv/bin/python benchmarks/registry.py --households 35000000 --out /tmp/nser.parquet
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from simulator import registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the file here (default: a temp file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "registry.parquet"
        t0 = time.perf_counter()
        rows = registry.write(
            registry.generate_chunks(args.households, seed=args.seed, chunk_size=args.chunk_size), out
        )
        seconds = time.perf_counter() - t0
        size_mb = out.stat().st_size / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "households": rows,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak, 1),
        "file_mb": round(size_mb, 1),
        "households_per_second": round(rows / seconds),
        "chunk_size": args.chunk_size,
    }))


if __name__ == "__main__":
    main()
