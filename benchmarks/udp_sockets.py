"""Round trips of the UDP sockets, a flood's cost, and the service feed's cost per point.

The socket servers run in a subprocess (tests/scripts/socket_server_driver.py), once with
this package and, when ``PYEXPLABSYS_UPSTREAM`` names an upstream checkout, once with
upstream's sockets module, so the figures stand side by side. A client in this process
asks sequentially (one datagram in flight). Then a second subprocess floods the pull
socket for a few seconds while the server process's CPU time is read from /proc. Last,
the cost of the service's UdpFeed per client point (a 20,000-point batch). Prints
figures, asserts nothing.

    python benchmarks/udp_sockets.py [--requests 20000] [--flood-seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DRIVER = REPO / "tests" / "scripts" / "socket_server_driver.py"
TICKS = os.sysconf("SC_CLK_TCK")

BLASTER = """
import socket, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
port, seconds = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + seconds
sent = 0
while time.monotonic() < end:
    for _ in range(100):
        try:
            sock.sendto(b"json_wn", ("127.0.0.1", port))
            sent += 1
        except OSError:
            pass
print(sent)
"""


def start_driver(pythonpath: str, home: Path, roomy: bool) -> tuple[subprocess.Popen[str], dict[str, int]]:
    env = {**os.environ, "PYTHONPATH": pythonpath, "HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), *(["--roomy"] if roomy else [])],
        env=env,
        cwd=home,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def round_trips(port: int, request: bytes, count: int) -> float:
    """Requests per second, one at a time."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2.0)
    started = time.perf_counter()
    lost = 0
    for _ in range(count):
        sock.sendto(request, ("127.0.0.1", port))
        try:
            sock.recvfrom(65535)
        except TimeoutError:
            lost += 1
    spent = time.perf_counter() - started
    sock.close()
    if lost:
        print(f"    ({lost} requests got no reply)")
    return count / spent


def flood(proc: subprocess.Popen[str], port: int, seconds: float) -> tuple[int, float, float]:
    """(datagrams sent, server CPU seconds per wall second while flooded, share of a
    polite client's requests answered meanwhile: 20 a second from another address)."""
    before = cpu_seconds(proc.pid)
    started = time.monotonic()
    blaster = subprocess.Popen(
        [sys.executable, "-c", BLASTER, str(port), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    polite = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    polite.bind(("127.0.0.2", 0))
    polite.settimeout(0.5)
    asked = answered = 0
    while blaster.poll() is None:
        polite.sendto(b"moon_laser_power#json", ("127.0.0.1", port))
        asked += 1
        try:
            polite.recvfrom(65535)
            answered += 1
        except TimeoutError:
            pass
        time.sleep(0.05)
    polite.close()
    out, _ = blaster.communicate()
    wall = time.monotonic() - started
    return int(out), (cpu_seconds(proc.pid) - before) / wall, answered / max(asked, 1)


def feed_cost(points: int) -> float:
    """µs per client point through UdpFeed.observe_batch (pull and live on)."""
    import tomllib

    from PyExpLabSys.service.config import parse_config
    from PyExpLabSys.service.udp_feed import UdpFeed

    codenames = [f"script_{i}" for i in range(10)]
    with tempfile.TemporaryDirectory() as tmp:
        text = f"""
[database]
path = "x.sqlite"
table = "t"
[spool]
path = "spool.sqlite"
[service]
socket = "points.sock"
client_codenames = {json.dumps(codenames)}
pull_socket = 0
pull_host = "127.0.0.1"
live_server = "127.0.0.1:9"
[[instruments]]
name = "bath"
driver = "polyscience"
port = "sim://"
[[instruments.channels]]
codename = "bath_temperature"
interval = 1.0
"""
        config = parse_config(tomllib.loads(text), Path(tmp) / "x.toml")
        feed = UdpFeed(config).start()
        batch = [(codenames[i % 10], 1.7e9 + i, float(i)) for i in range(points)]
        try:
            started = time.perf_counter()
            rounds = 20
            for _ in range(rounds):
                feed.observe_batch(batch)
            spent = time.perf_counter() - started
        finally:
            feed.stop()
    return spent / (rounds * points) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--flood-seconds", type=float, default=3.0)
    args = parser.parse_args()
    upstream = os.environ.get("PYEXPLABSYS_UPSTREAM")
    kinds = [("ours", str(REPO))] + ([("upstream", upstream)] if upstream else [])
    results: dict[str, dict[str, float]] = {name: {} for name, _ in kinds}
    questions = [
        ("json_wn/s", "date", b"json_wn"),
        ("codename#json/s", "date", b"moon_laser_power#json"),
        ("push json_wn/s", "store_last", b'json_wn#{"a": 1}'),
        ("garbage/s", "date", b"\x00garbage"),
    ]
    per_round = args.requests // args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / ".config" / "PyExpLabSys").mkdir(parents=True)
        (home / ".config" / "PyExpLabSys" / "user_settings.yaml").write_text(
            "util_log_warning_email: a@example.com\nutil_log_error_email: a@example.com\n"
            "util_log_mail_host: x\n"
        )
        # Speed: both servers at once, rounds alternating (the machine's load changes);
        # our flood limits lifted (upstream has none).
        drivers = {name: start_driver(path, home, roomy=name == "ours") for name, path in kinds}
        try:
            for key, kind, request in questions:
                rates: dict[str, list[float]] = {name: [] for name, _ in kinds}
                for _ in range(args.rounds):
                    for name, _ in kinds:
                        rates[name].append(round_trips(drivers[name][1][kind], request, per_round))
                for name, values in rates.items():
                    results[name][key] = statistics.median(values)
        finally:
            for proc, _ in drivers.values():
                proc.communicate("", timeout=30)
        # A flood, one server at a time: our default limits.
        for name, path in kinds:
            proc, ports = start_driver(path, home, roomy=False)
            try:
                sent, cpu, polite = flood(proc, ports["date"], args.flood_seconds)
            finally:
                proc.communicate("", timeout=30)
            results[name]["flood sent/s"] = sent / args.flood_seconds
            results[name]["flood: server CPU"] = cpu
            results[name]["flood: polite answered"] = polite
    print(f"UDP sockets on loopback, sequential requests (median of {args.rounds} rounds of {per_round}):")
    header = f"  {'':<24}" + "".join(f"{name:>12}" for name, _ in kinds)
    if upstream:
        header += f"{'ours/upstr.':>12}"
    print(header)
    for key in results["ours"]:
        row = f"  {key:<24}" + "".join(f"{results[name][key]:>12.2f}" for name, _ in kinds)
        if upstream and results["upstream"][key]:
            row += f"{results['ours'][key] / results['upstream'][key]:>12.2f}"
        print(row)
    print("  (flood: server CPU = its CPU seconds per second while flooded; polite answered = share")
    print("   of a client's requests, 20 a second from 127.0.0.2, answered meanwhile)")
    print(f"service feed: {feed_cost(20_000):.2f} µs per client point (20,000-point batches)")


if __name__ == "__main__":
    main()
