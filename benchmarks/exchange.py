"""Benchmark: pack and unpack an exchange package of N synthetic registry rows, streamed.

Prints one JSON line: rows, parquet_mb, package_mb, and for pack and unpack (each run in its
own process, so each peak is its own) seconds and peak_rss_mb. The target (issue 14): a
35,000,000-row extract packs and unpacks in under 1 GB of memory.

    .venv/bin/python benchmarks/exchange.py --rows 5000000
    .venv/bin/python benchmarks/exchange.py --rows 35000000 --input /tmp/nser.parquet
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _step(args: argparse.Namespace) -> None:
    """One timed operation in this process; prints its seconds and peak RSS."""
    from simulator.exchange import packages as exchange

    keys = Path(args.keys)
    t0 = time.perf_counter()
    if args.step == "pack":
        exchange.pack(
            args.input,
            sender_private=keys / "bisp" / "bisp.key.pem",
            recipient_public_identity=keys / "pspa-punjab" / "pspa-punjab.identity.json",
            dataset="benchmark",
            purpose="benchmark",
            out=args.package,
        )
    else:
        exchange.unpack_to(
            args.package,
            args.output,
            recipient_private=keys / "pspa-punjab" / "pspa-punjab.key.pem",
            sender_public_identity=keys / "bisp" / "bisp.identity.json",
            audit_log=Path(args.keys) / "audit.jsonl",
        )
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": round(_peak_rss_mb(), 1)}))


def _peak_rss_mb() -> float:
    """This process's peak resident memory [MiB]: VmHWM, which (unlike ru_maxrss on Linux)
    does not carry the parent's peak over a fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(*argv: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--input", type=Path, default=None,
                        help="pack this registry Parquet (default: generate --rows rows)")
    parser.add_argument("--step", choices=("pack", "unpack"), help=argparse.SUPPRESS)
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    parser.add_argument("--package", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _step(args)
        return

    from simulator import registry
    from simulator.exchange import packages as exchange

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = args.input
        if source is None:
            source = tmp / "registry.parquet"
            registry.write(registry.generate_chunks(args.rows, seed=args.seed), source)
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(source).metadata.num_rows
        for agency in ("bisp", "pspa-punjab"):
            exchange.keygen(agency, tmp / "keys" / agency)
        package, output = tmp / "registry.madadpkg", tmp / "received.parquet"
        common = ["--keys", str(tmp / "keys"), "--package", str(package)]
        pack = _run("--step", "pack", "--input", str(source), *common)
        unpack = _run("--step", "unpack", "--output", str(output), *common)
        same = output.stat().st_size == source.stat().st_size
        print(json.dumps({
            "rows": rows,
            "parquet_mb": round(source.stat().st_size / 2**20, 1),
            "package_mb": round(package.stat().st_size / 2**20, 1),
            "pack_seconds": pack["seconds"],
            "pack_peak_rss_mb": pack["peak_rss_mb"],
            "unpack_seconds": unpack["seconds"],
            "unpack_peak_rss_mb": unpack["peak_rss_mb"],
            "round_trip_same_size": same,
        }))


if __name__ == "__main__":
    main()
