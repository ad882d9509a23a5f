"""Where a MariaDB server's CPU goes, from a ``perf record -g`` of its process.

Each sample's call stack is put in the first category whose rule matches it (so a
redo-log write inside a commit counts as the commit's, not as a system call). The
categories follow what one batch of the logger costs the server: the COMMIT (its
redo-log write and sync, and the rest), the rows (InnoDB's insert, converting the
values), the statements around them (opening and locking the tables, parsing), the
answers sent back, and the server's background threads (purge, page flushing).

The stripped mariadbd of the distribution names its SQL-layer functions but not
InnoDB's internals; InnoDB's latch spinning is recognised by the sample's address
lying just after a ``pause`` instruction (:func:`spin_share`).

    python benchmarks/perfsplit.py FILE.data [FILE.data ...]

``fleet.py --perf DIR`` records one file per run and prints these shares in server
CPU µs per commit.
"""

from __future__ import annotations

import bisect
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache

Stack = list[tuple[int, str]]  # (address, function name), innermost first

CATEGORIES: list[tuple[str, Callable[[set[str]], bool]]] = [
    ("commit: redo log write", lambda f: "ha_commit_trans" in f and "__libc_pwrite" in f),
    ("commit: redo log sync", lambda f: "ha_commit_trans" in f and "fdatasync" in f),
    ("commit: the rest", lambda f: "ha_commit_trans" in f),
    ("rows: InnoDB insert", lambda f: "handler::ha_write_row" in f),
    ("rows: values converted", lambda f: "fill_record" in f),
    ("INSERT: open, lock, set up", lambda f: "mysql_insert" in f),
    ("parse", lambda f: "parse_sql" in f),
    ("other statement work", lambda f: "mysql_execute_command" in f),
    ("answers sent", lambda f: "__send" in f or "vio_write" in f),
    ("packets read", lambda f: "my_net_read_packet" in f or any("recv" in name for name in f)),
    ("command dispatch", lambda f: "dispatch_command" in f),
    ("connection handling", lambda f: "tp_callback" in f or "handle_one_connection" in f),
    ("background threads", lambda f: True),
]


def stacks(path: str) -> Iterator[Stack]:
    """The call stacks of a perf.data file (``perf script``)."""
    text = subprocess.run(
        ["perf", "script", "-i", path, "-F", "tid,ip,sym"], capture_output=True, text=True, check=True
    ).stdout
    stack: Stack | None = None
    for line in text.splitlines():
        if not line.strip():
            if stack:
                yield stack
            stack = None
        elif not line.startswith("\t"):  # a sample's header line (the thread id, padded)
            stack = []
        elif stack is not None:
            address, _, name = line.strip().partition(" ")
            stack.append((int(address, 16), name or "?"))
    if stack:
        yield stack


@cache
def _pauses(binary: str) -> list[int]:
    """Addresses of the ``pause`` instructions of ``binary`` (spin loops)."""
    text = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", binary], capture_output=True, text=True
    ).stdout
    return sorted(
        int(line.split(":")[0], 16) for line in text.splitlines() if line.rstrip().endswith("\tpause")
    )


def spinning(stack: Stack, pauses: list[int]) -> bool:
    """Whether the sample was taken in a spin loop (at most 16 bytes after a pause)."""
    if not stack or not pauses:
        return False
    address = stack[0][0]
    index = bisect.bisect_right(pauses, address) - 1
    return index >= 0 and address - pauses[index] <= 16


def split(path: str, binary: str | None = None) -> dict[str, float]:
    """Each category's share of the samples, plus ``"latch spinning (within the above)"`` (the
    share of all samples spent spinning, counted inside the categories too)."""
    binary = binary or shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    pauses = _pauses(binary)
    counts: Counter[str] = Counter()
    total = spins = 0
    for stack in stacks(path):
        total += 1
        names = {name for _, name in stack}
        counts[next(name for name, rule in CATEGORIES if rule(names))] += 1
        spins += spinning(stack, pauses)
    if not total:
        return {}
    shares = {name: counts[name] / total for name, _ in CATEGORIES}
    shares["latch spinning (within the above)"] = spins / total
    return shares


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares ``y = slope * x + intercept`` through (x, y) points (at least two
    distinct x)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return slope, mean_y - slope * mean_x


def main() -> None:
    for path in sys.argv[1:]:
        print(path)
        for name, share in split(path).items():
            print(f"  {name:32} {share:6.1%}")


if __name__ == "__main__":
    main()
