"""Shared by the fuzz tests: outcome tallies, a hang guard, and a memory-capped child process."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from drawcnn.errors import DrawCNNError

#: Extra address space a child may take after its imports (a real 1.4 MB weights file or a
#: MNIST file needs far less; the bombs the issue found wanted 1.25-5.8 GB).
MEMORY_BUDGET = 400 << 20


class Outcomes:
    """Counts what each fuzz case gave: a clean error (by type) or a correct result."""

    def __init__(self):
        self.counts: collections.Counter = collections.Counter()
        self.bad: list[str] = []
        self.started = time.perf_counter()

    def run(self, label: str, fn, check_result=None) -> None:
        try:
            result = fn()
        except DrawCNNError as exc:
            if not str(exc).strip():
                self.bad.append(f"{label}: {type(exc).__name__} without a message")
                return
            self.counts[type(exc).__name__] += 1
            return
        except Exception as exc:  # the failure this suite looks for: anything but ours
            self.bad.append(f"{label}: raw {type(exc).__name__}: {exc!s:.200}")
            return
        if check_result is not None:
            problem = check_result(result)
            if problem:
                self.bad.append(f"{label}: {problem}")
                return
        self.counts["ok"] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + len(self.bad)

    def report(self, name: str) -> str:
        line = (f"{name}: {self.total} cases in {time.perf_counter() - self.started:.1f} s: "
                f"{dict(sorted(self.counts.items()))}, {len(self.bad)} bad")
        print(line)
        return line


@contextlib.contextmanager
def no_hang(seconds: int):
    """Fail (instead of hanging the suite) if the block runs for ``seconds``: a hang guard,
    not a speed test: the limit is many times what the block needs."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"no result after {seconds} s: hang")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


_CHILD = """
import json, resource, sys
{imports}
def used_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()
limit = used_bytes() + {budget}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from drawcnn.errors import DrawCNNError
results = []
for arg in json.loads(sys.argv[1]):
    try:
        {call}
        results.append(["ok", ""])
    except DrawCNNError as exc:
        results.append([type(exc).__name__, str(exc)[:300]])
    except MemoryError:
        results.append(["MemoryError", "over the memory budget"])
    except Exception as exc:
        results.append(["raw " + type(exc).__name__, str(exc)[:300]])
print("RESULTS " + json.dumps(results))
"""


def run_capped(imports: str, call: str, args: list, timeout: float = 120) -> list:
    """Run ``call`` (using ``arg``) for each of ``args`` in one child process whose address
    space is capped at its size after ``imports`` plus MEMORY_BUDGET. Returns
    [[outcome, message], ...]; a crash or a hang fails."""
    code = _CHILD.format(imports=textwrap.dedent(imports), budget=MEMORY_BUDGET, call=call)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True,
                         text=True, timeout=timeout, env=env)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert res.returncode == 0 and lines, f"child failed ({res.returncode}): {res.stderr[-2000:]}"
    return json.loads(lines[-1][len("RESULTS "):])
