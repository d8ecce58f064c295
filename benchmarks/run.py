"""Benchmark autograd_mini against hand-written NumPy (and PyTorch, HIPS autograd if present).

    python benchmarks/run.py [--quick] [--json out.json]

Every case runs in a fresh subprocess with one BLAS thread. Timing: the implementations run
interleaved (one step each per round), so drifts in the machine hit all of them alike; the
table shows medians, and ratios are taken between medians of the same run. Memory: a second
fresh subprocess per implementation measures one step's peak extra memory twice: with
tracemalloc (exact for NumPy arrays, which report to it; blind to PyTorch's allocator) and
as the growth of the peak resident set size (VmHWM after − VmRSS before; sees everything).

"am compiled" is am.compile's code: its first call (trace, write the code, exec it) happens
when the case is built and is reported in a table of its own; the timed steps run the
compiled function alone.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy loads its BLAS

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402

MB = 1e6


@dataclass(frozen=True)
class Case:
    """One row of the table: a workload at one size."""

    key: str
    title: str
    workload: str  # key into workloads.IMPLEMENTATIONS[impl]
    args: tuple[int, ...]
    repeats: int
    ops: int = 1  # time and memory are reported per op when > 1
    skip: tuple[str, ...] = ()  # implementations too slow for this size

    @property
    def unit(self) -> str:
        return "µs/op" if self.ops > 1 else "ms"


def _chain(key: str, title: str, depth: int, repeats: int,
           skip: tuple[str, ...] = ()) -> Case:
    return Case(key, title, "chain", (depth,), repeats, ops=3 * (depth // 3), skip=skip)


def cases(quick: bool) -> list[Case]:
    if quick:
        return [
            Case("W1a", "W1 MSE grad, X 250,000×32", "W1", (250_000, 32), 5),
            Case("W1b", "W1 MSE grad, X 50,000×256", "W1", (50_000, 256), 5),
            _chain("W2", "W2 chain 1,000 ops on (16,)", 1_000, 7),
            _chain("W3", "W3 chain 10,000 deep", 10_000, 3),
            Case("W4", "W4 MLP 64-128-10, batch 256", "W4", (), 50),
        ]
    return [
        Case("W1a", "W1 MSE grad, X 1,000,000×32", "W1", (1_000_000, 32), 11),
        Case("W1b", "W1 MSE grad, X 200,000×256", "W1", (200_000, 256), 11),
        _chain("W2", "W2 chain 1,000 ops on (16,)", 1_000, 31),
        # HIPS autograd takes ~50 µs per op: it runs W3 at a tenth of the depth (the next row),
        # as does am compiled, whose first call would trace a million ops (the next row shows
        # the replayed tape it runs for graphs too large to write out).
        _chain("W3", "W3 chain 1,000,000 deep", 1_000_000, 3, skip=("hips", "am_compiled")),
        _chain("W3h", "W3 chain 100,000 deep", 100_000, 3),
        Case("W4", "W4 MLP 64-128-10, batch 256", "W4", (), 301),
    ]


# ---- what runs inside the subprocesses ------------------------------------------------------

def _build(impl: str, case: Case) -> workloads.Step:
    if impl == "torch":
        import torch
        torch.set_num_threads(1)
    return workloads.IMPLEMENTATIONS[impl][case.workload](*case.args)


def child_time(case: Case, impls: list[str]) -> dict[str, dict[str, float]]:
    """Median seconds per step for each implementation, run interleaved, and the seconds of
    the first call for those that compile when built."""
    steps = {impl: _build(impl, case) for impl in impls}
    first = {impl: step.first_call for impl, step in steps.items()  # type: ignore[attr-defined]
             if hasattr(step, "first_call")}
    for step in steps.values():
        step()  # warm up: lazy imports, allocator pools, BLAS buffers
    gc.collect()
    gc.freeze()  # so the collections between steps skip what the imports made (0.2 s each)
    times: dict[str, list[float]] = {impl: [] for impl in impls}
    for _ in range(case.repeats):
        for impl, step in steps.items():
            gc.collect()
            t0 = time.perf_counter()
            step()
            times[impl].append(time.perf_counter() - t0)
    return {"seconds": {impl: statistics.median(ts) for impl, ts in times.items()},
            "first_call": first}


def _rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child_memory(case: Case, impl: str) -> dict[str, float | None]:
    """Peak extra bytes of one step: by the resident set size, and by tracemalloc."""
    step = _build(impl, case)
    gc.collect()
    gc.freeze()
    rss = None
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        before = _rss("VmRSS")
        step()
        rss = _rss("VmHWM") - before
    except OSError:
        pass  # not Linux: tracemalloc only
    gc.collect()
    traced = None
    if impl != "torch":
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        step()
        traced = tracemalloc.get_traced_memory()[1] - start
        tracemalloc.stop()
    return {"rss": rss, "traced": traced}


# ---- the driver -----------------------------------------------------------------------------

def _spawn(*args: str) -> Any:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, *args], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    blas = "unknown"
    try:
        blas_info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # type: ignore[func-returns-value]
        blas = f"{blas_info['name']} {blas_info.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy: no dict mode
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for impl in workloads.available():
        if impl not in ("numpy", "autograd_mini", "am_compiled"):
            mod = __import__(workloads.MODULES[impl])
            versions[impl] = getattr(mod, "__version__", "?")
    if "hips" in versions and versions["hips"] == "?":
        from importlib.metadata import version
        versions["hips"] = version("autograd")
    return {"cpu": cpu, "cores": os.cpu_count(), "blas": blas, "blas_threads": 1, **versions}


def run(quick: bool) -> dict[str, Any]:
    impls = workloads.available()
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "cases": {}}
    for case in cases(quick):
        mine = [i for i in impls if i not in case.skip]
        print(f"  running {case.title} ({', '.join(mine)})", end="", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        t = _spawn("--child-time", case.key, str(quick), *mine)
        mem = {i: _spawn("--child-memory", case.key, str(quick), i) for i in mine}
        results["cases"][case.key] = {
            "title": case.title, "unit": case.unit, "ops": case.ops,
            "seconds": t["seconds"], "first_call": t["first_call"], "memory": mem,
        }
        print(f": {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return results


# ---- the table ------------------------------------------------------------------------------

COLUMNS = ("numpy", "autograd_mini", "am_compiled", "torch", "hips")
HEAD = {"numpy": "NumPy", "autograd_mini": "am", "am_compiled": "am comp", "torch": "torch",
        "hips": "HIPS"}


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores; BLAS {m['blas']}, 1 thread; "
        + ", ".join(f"{k} {v}" for k, v in m.items()
                    if k not in ("cpu", "cores", "blas", "blas_threads")),
        "",
        "time (median; ms per step, or µs per op for the chains)",
        f"{'case':32} {'unit':>6} " + " ".join(f"{HEAD[c]:>9}" for c in COLUMNS)
        + f" {'am/NumPy':>9} {'am/torch':>9} {'comp/NumPy':>10}",
    ]
    for c in results["cases"].values():
        scale = 1e6 / c["ops"] if c["ops"] > 1 else 1e3
        t = {k: v * scale for k, v in c["seconds"].items()}
        am, comp = t.get("autograd_mini"), t.get("am_compiled")
        ratio = {k: (am / t[k] if am and k in t else None) for k in ("numpy", "torch")}
        compiled = comp / t["numpy"] if comp and "numpy" in t else None
        lines.append(f"{c['title']:32} {c['unit']:>6} "
                     + " ".join(f"{_fmt(t.get(k)):>9}" for k in COLUMNS)
                     + f" {_fmt(ratio['numpy']):>9} {_fmt(ratio['torch']):>9}"
                     + f" {_fmt(compiled):>10}")
    firsts = [(c["title"], c["first_call"]["am_compiled"]) for c in results["cases"].values()
              if "am_compiled" in c.get("first_call", {})]
    if firsts:
        lines += ["", "am compiled, first call (trace, write the code, exec it; then cached), ms"]
        lines += [f"{title:32} {seconds * 1e3:>9.1f}" for title, seconds in firsts]
    lines += ["", "peak extra memory of one step (MB, or bytes per op for the chains): "
              "tracemalloc / RSS growth",
              f"{'case':32} " + " ".join(f"{HEAD[c]:>15}" for c in COLUMNS)
              + f" {'am/NumPy':>9}"]
    for c in results["cases"].values():
        scale = 1 / c["ops"] if c["ops"] > 1 else 1 / MB
        digits = 0 if c["ops"] > 1 else 1
        cells = []
        for k in COLUMNS:
            mem = c["memory"].get(k)
            if mem is None:
                cells.append(f"{'–':>15}")
                continue
            tr, rss = (mem[f] * scale if mem[f] is not None else None for f in ("traced", "rss"))
            cells.append(f"{_fmt(tr, digits) + ' / ' + _fmt(rss, digits):>15}")
        am_mem, np_mem = (c["memory"].get(k, {}).get("traced") for k in ("autograd_mini", "numpy"))
        ratio = am_mem / np_mem if am_mem and np_mem else None
        lines.append(f"{c['title']:32} " + " ".join(cells) + f" {_fmt(ratio):>9}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--child-time", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_time or args.child_memory:
        key, quick, *impls = args.child_time or args.child_memory
        case = next(c for c in cases(quick == "True") if c.key == key)
        out = (child_time(case, impls) if args.child_time else child_memory(case, impls[0]))
        print(json.dumps(out))
        return
    t0 = time.perf_counter()
    results = run(args.quick)
    results["wall_seconds"] = time.perf_counter() - t0
    print(table(results))
    print(f"\n({results['wall_seconds']:.0f} s in all)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
