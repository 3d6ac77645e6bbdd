"""Benchmark: `madad run --scheduler` on a Dask cluster of separate processes.

Starts a `dask scheduler` and W `dask worker` processes on localhost (one thread and
--worker-memory each), runs the CLI itself (`madad run SCENARIO --registry DATASET --scheduler
tcp://...`) and prints one JSON line: households, seconds (the whole command), seconds per
million households, the peak RSS of the command and of each worker (sampled every 0.2 s), and
the seconds of each stage from the run's manifest.

With --compare FILE (a registry of a size one machine takes, e.g. 35,000,000 households), the
same scenario is also run on FILE in memory and on the cluster, and the JSON says whether the two
plan.json files are byte for byte identical, with the in-memory seconds per million households.
The target (issue 13): 150,000,000 households from a partitioned dataset on 2 workers of 6 GB,
identical to the in-memory method on a 35 M subset, at a rate proportional to the in-memory one.

    .venv/bin/python benchmarks/dask_cluster.py --registry /tmp/nser150 --households 150000000 \\
        --compare /tmp/nser35.parquet
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


class Peaks:
    """Peak RSS [MB] of some processes and their children, sampled on a thread."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids, self.peak = pids, dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for name, pid in self.pids.items():
                try:
                    proc = psutil.Process(pid)
                    rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak[name], rss / 2**20)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {k: round(v, 1) for k, v in self.peak.items()}


def cluster(folder: Path, workers: int, memory: str, logs: Path | None = None) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and ``workers`` workers, each its own process; returns the address. Their
    logs go to ``logs`` (a folder) when given."""
    file = folder / "scheduler.json"
    # workers keep their parts in memory: spill to disk only near the limit (not from 60 % of
    # it) and pause at 95 % (not 80 %), so 75 M households a worker fit a 6 GB worker
    env = dict(os.environ, DASK_LOGGING__DISTRIBUTED="warning",
               DASK_DISTRIBUTED__WORKER__MEMORY__TARGET="false",
               DASK_DISTRIBUTED__WORKER__MEMORY__SPILL="0.9",
               DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE="0.95")
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(file)],
                              env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        while not file.exists():
            if procs[0].poll() is not None:
                raise SystemExit("dask scheduler did not start")
            time.sleep(0.2)
    except BaseException:
        procs[0].terminate()
        raise
    for i in range(workers):
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", "--scheduler-file", str(file), "--nworkers", "1", "--nthreads", "1",
             "--memory-limit", memory, "--name", f"w{i}", "--no-dashboard", "--local-directory", str(folder)],
            env=env, cwd=folder, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL if logs is None else open(logs / f"worker{i}.log", "w")))  # noqa: SIM115
    address = json.loads(file.read_text())["address"]
    from dask.distributed import Client

    try:
        with Client(address) as client:
            client.wait_for_workers(workers, timeout=120)
    except BaseException:
        for proc in procs:
            proc.terminate()
        raise
    return address, procs


def timed(command: list[str], watch: dict[str, int]) -> tuple[float, dict[str, float]]:
    """Run a command; its seconds and the peak RSS of it and of the ``watch`` processes."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = Peaks({"command": proc.pid, **watch})
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    peak = peaks.stop()
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{err}\n{out}")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registry", type=Path, required=True,
                        help="registry dataset folder (or file); generated here if missing")
    parser.add_argument("--households", type=int, default=1_000_000, help="households to generate when missing")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "indus-flood-demo.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="6GB")
    parser.add_argument("--logs", type=Path, default=None, help="folder for the workers' logs")
    parser.add_argument("--compare", type=Path, default=None,
                        help="also run this registry in memory and on the cluster, and compare plan.json")
    args = parser.parse_args()
    madad = str(BIN / "madad")
    if not args.registry.exists():
        subprocess.run([madad, "registry", "generate", "--households", str(args.households), "--seed",
                        str(args.seed), "--partitioned", "--out", str(args.registry)], check=True,
                       stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
        address, procs = cluster(tmp, args.workers, args.worker_memory, args.logs)
        workers = {f"worker{i}": p.pid for i, p in enumerate(procs[1:])}
        try:
            def on_cluster(registry: Path, out: Path) -> tuple[float, dict]:
                return timed([madad, "run", str(args.scenario), "--registry", str(registry), "--scheduler",
                              address, "--out", str(out)], workers)

            seconds, peak = on_cluster(args.registry, tmp / "run")
            plan = json.loads((tmp / "run" / "plan.json").read_text())
            manifest = json.loads((tmp / "run" / "manifest.json").read_text())
            result = {
                "households": plan["registry_rows"],
                "scenario": args.scenario.stem,
                "workers": args.workers,
                "worker_memory": args.worker_memory,
                "seconds": round(seconds, 1),
                "seconds_per_million": round(seconds / plan["registry_rows"] * 1e6, 3),
                "peak_rss_mb": peak,
                "stages_s": manifest.get("timings_s", {}),
            }
            if args.compare is not None:
                dask_s, _ = on_cluster(args.compare, tmp / "compare-dask")
                memory_s, memory_peak = timed([madad, "run", str(args.scenario), "--registry", str(args.compare),
                                               "--out", str(tmp / "compare-memory")], {})
                a = (tmp / "compare-dask" / "plan.json").read_bytes()
                b = (tmp / "compare-memory" / "plan.json").read_bytes()
                rows = json.loads(b)["registry_rows"]
                result["compare"] = {
                    "households": rows,
                    "plan_json_identical": a == b,
                    "dask_seconds": round(dask_s, 1),
                    "dask_seconds_per_million": round(dask_s / rows * 1e6, 3),
                    "in_memory_seconds": round(memory_s, 1),
                    "in_memory_seconds_per_million": round(memory_s / rows * 1e6, 3),
                    "in_memory_peak_rss_mb": memory_peak["command"],
                }
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
