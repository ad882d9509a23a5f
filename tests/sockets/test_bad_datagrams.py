"""A stream of bad datagrams at a pull and a push socket: each gets an error reply or is
dropped and counted; the socket keeps serving; no exception reaches the owning script."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from PyExpLabSys.common.sockets import DataPushSocket, DateDataPullSocket
from PyExpLabSys.udp.limits import DatagramLimits, FloodGate

from .udp_client import Client

#: Room for the tests' own bursts; the flood test sets tight limits of its own.
ROOMY = DatagramLimits(
    per_source_rate=100_000, per_source_burst=100_000, total_rate=100_000, total_burst=100_000
)


@pytest.fixture
def thread_errors() -> Iterator[list[Any]]:
    """Exceptions that escaped any thread during the test (there must be none)."""
    errors: list[Any] = []
    previous = threading.excepthook
    threading.excepthook = errors.append
    yield errors
    threading.excepthook = previous


def bad_stream(seed: int = 17) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    stream = [
        ("empty", b""),
        ("nul bytes", b"\x00" * 40),
        ("latin-1", "målestation#json".encode("latin-1")),
        ("lone surrogate", b"json\xed\xa0\x80"),
        ("oversized", b"json_wn#" + b"x" * 9000),
        ("oversized max", b"r" * 65507),
        ("forbidden codename", b"a,b#json"),
        ("forbidden codename raw", b"a;b#raw"),
        ("bad json", b'json_wn#{"a": 1'),
        ("json not a dict", b"json_wn#[1, 2]"),
        ("deep json", b"json_wn#" + b"[" * 3000 + b"]" * 3000),
        ("raw forbidden codename", b"raw_wn#a,b:int:1"),
        ("raw no parts", b"raw_wn#"),
        ("many hashes", b"#" * 100),
    ]
    stream += [(f"garbage {i}", rng.randbytes(rng.randint(1, 3000))) for i in range(200)]
    return stream


def test_pull_socket_answers_every_bad_datagram(client: Client, thread_errors: list[Any]) -> None:
    sock = DateDataPullSocket("robust", ["a", "b"], port=0, limits=ROOMY)
    sock.start()
    try:
        sock.set_point("a", (1.0, 2.0))
        for what, datagram in bad_stream():
            reply = client.ask(sock.port, datagram)
            assert reply == b"UNKNOWN_COMMMAND", what
        assert client.ask(sock.port, "a#json") == b"[1.0, 2.0]"
        stats = sock.stats
        assert stats["oversized"] == 2 and stats["undecodable"] >= 2
        assert (
            stats["received"]
            == len(bad_stream()) + 1
            == stats["answered"] + stats["refused"] + stats["oversized"] + stats["undecodable"]
        )
        assert stats.get("errors", 0) == 0 and sock.is_alive()
    finally:
        sock.stop()
    assert thread_errors == []


def test_push_socket_answers_every_bad_datagram(client: Client, thread_errors: list[Any]) -> None:
    calls: list[Any] = []
    sock = DataPushSocket("robust", port=0, action="callback_direct", callback=calls.append, limits=ROOMY)
    sock.start()
    try:
        replies = {what: client.ask(sock.port, datagram) for what, datagram in bad_stream()}
        assert all(reply.startswith(b"ERROR#") for reply in replies.values()), replies
        assert replies["oversized"] == b"ERROR#datagram longer than 8192 bytes"
        assert replies["latin-1"] == b"ERROR#datagram is not UTF-8 text"
        assert replies["raw forbidden codename"] == (
            b"ERROR#The codename 'a,b' holds a character that is not allowed in codenames"
        )
        assert replies["deep json"].startswith(b"ERROR#The string '[[[[")
        assert calls == [] and sock.last == (None, None)
        assert client.ask(sock.port, b'json_wn#{"ok": 1}') == b"RET#null"
        assert calls == [{"ok": 1}]
        assert sock.stats.get("errors", 0) == 0 and sock.is_alive()
    finally:
        sock.stop()
    assert thread_errors == []


def test_a_callback_that_raises_is_answered_not_raised(client: Client, thread_errors: list[Any]) -> None:
    def callback(data: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    sock = DataPushSocket("robust", port=0, action="callback_direct", callback=callback)
    sock.start()
    try:
        assert client.ask(sock.port, b'json_wn#{"a": 1}') == b"EXCEP#division by zero"
        assert client.ask(sock.port, b"name") == b"RET#robust"
    finally:
        sock.stop()
    assert thread_errors == []


def test_a_flood_is_dropped_and_counted(client: Client, thread_errors: list[Any]) -> None:
    limits = DatagramLimits(per_source_rate=50, per_source_burst=20, total_rate=1000, total_burst=1000)
    sock = DateDataPullSocket("flooded", ["a"], port=0, limits=limits)
    sock.start()
    try:
        sent = 2000
        started = time.monotonic()
        for _ in range(sent):
            client.send_only(sock.port, b"json")
        # A marker from another source: its reply comes after everything queued before it
        # (sent again while the kernel's full buffer drops it).
        marker = Client(timeout=0.5)
        try:
            for _ in range(20):
                try:
                    assert marker.ask(sock.port, "name") == b"flooded"
                    break
                except TimeoutError:
                    continue
        finally:
            marker.close()
        elapsed = time.monotonic() - started
        stats = sock.stats
        answered = client.drain()
        # The kernel may drop some of the burst before the server sees it: count only what came.
        assert stats["received"] <= sent + 20
        assert answered + 1 == stats["answered"] <= 20 + 50 * elapsed + 1
        assert stats["flood_dropped"] == stats["received"] - stats["answered"] > 0
        # The sender gets served again once its bucket refills.
        time.sleep(0.1)  # 0.1 s refills 5 tokens at 50/s: time itself is what is tested here
        assert client.ask(sock.port, "codenames_raw") == b"a"
        assert sock.is_alive()
    finally:
        sock.stop()
    assert thread_errors == []


def test_flood_gate_buckets() -> None:
    now = [0.0]
    gate = FloodGate(
        DatagramLimits(per_source_rate=10, per_source_burst=3, total_rate=100, total_burst=5, max_sources=2),
        clock=lambda: now[0],
    )
    assert [gate.admit("a") for _ in range(4)] == [True, True, True, False]
    assert [gate.admit("b") for _ in range(3)] == [True, True, False]  # the total's 5 are used
    now[0] = 0.1  # +1 token for each source, +10 (capped at 5) for the total
    assert gate.admit("a") and not gate.admit("a")
    gate.admit("c")  # a third source: the longest silent one ("b") is forgotten
    assert set(gate._sources) == {"a", "c"}


@pytest.mark.parametrize(
    "kwargs",
    [{"max_datagram": 0}, {"max_datagram": 70_000}, {"per_source_rate": 0}, {"max_sources": 0}],
)
def test_limits_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="DatagramLimits"):
        DatagramLimits(**kwargs)
