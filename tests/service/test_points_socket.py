"""The service's points socket in one process: a logger with a spool behind a
PointsServer, clients built as lab scripts build them (``service=``)."""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.common.database_saver import ContinuousDataSaver
from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.logger import CodenameLookupError, DataLogger
from PyExpLabSys.datalog.policies import RetryPolicy, SpoolPolicy, Timeouts
from PyExpLabSys.points.protocol import FrameReader, encode
from PyExpLabSys.points.server import ClientLimits, PointsServer

from .conftest import wait_until

FAST = Timeouts(connect=0.5, read=0.5, write=0.5, query=0.5, startup=0.5)
RETRY = RetryPolicy(first_delay=0.01, base_delay=0.02, max_delay=0.1)
ALLOWED = ["script_a", "script_b"]
SECRET = "0123456789abcdef" * 2
HEARTBEAT = ClientLimits().heartbeat


def welcome(position: int) -> dict:
    """The answer to a good hello (with the heartbeat the service asks for since issue 22)."""
    return {"welcome": {"next": position, "heartbeat": HEARTBEAT, "packed": 1}}


# a raw client's secret (hello requires one since issue 22)


class Service:
    """A logger with a spool and the points server in front of it."""

    def __init__(self, tmp_path: Path, db: MemoryDatabase, limits: ClientLimits = ClientLimits()) -> None:
        self.path = tmp_path / "run" / "points.sock"
        self.logger = DataLogger(
            MemoryBackend(db, timeout=0.2),
            ALLOWED,
            timeouts=FAST,
            retry=RETRY,
            spool_path=tmp_path / "spool.sqlite",
            spool=SpoolPolicy(group_commit_interval=0.05),
        )
        self.logger.start()
        self.server = PointsServer(self.path, self.logger, ALLOWED, limits).start()

    def stop(self) -> None:
        self.server.stop()
        self.logger.stop(timeout=5)


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(ALLOWED)


@pytest.fixture
def service(tmp_path: Path, db: MemoryDatabase) -> Iterator[Service]:
    running = Service(tmp_path, db)
    yield running
    running.stop()


def client(path: Path, codenames=("script_a",), cls=ContinuousLogger) -> ContinuousLogger:
    return cls(
        "dateplots_lab", "user", "unused", list(codenames), service=str(path), timeouts=FAST, retry=RETRY
    )


def test_a_script_logs_through_the_service(service, db):
    logger = client(service.path)
    logger.start()
    try:
        for value in range(300):
            logger.enqueue_point_now("script_a", float(value))
        assert logger.flush(timeout=10) is True  # in the service's spool, then committed
        assert db.values("script_a") == [float(v) for v in range(300)]
        assert "logging service at" in logger.status().backend
    finally:
        assert logger.stop(timeout=5).delivered_all


def test_the_data_saver_too_and_the_environment_variable(service, db, monkeypatch):
    monkeypatch.setenv("PYEXPLABSYS_LOGGER_SOCKET", str(service.path))
    saver = ContinuousDataSaver("dateplots_lab", "user", "unused", timeouts=FAST, retry=RETRY)
    saver.start()
    try:
        saver.add_continuous_measurement("script_b")
        saver.save_point_now("script_b", 2.5)
        assert saver.flush(timeout=10)
        assert db.values("script_b") == [2.5]
    finally:
        saver.stop(timeout=5)


def test_a_codename_not_allowed_is_refused_at_the_constructor(service):
    with pytest.raises(CodenameLookupError, match="'secret_gauge' not allowed"):
        client(service.path, ["script_a", "secret_gauge"])
    assert wait_until(lambda: service.server.stats["refused"] == 1)


def test_a_client_started_before_the_service_waits_for_it(tmp_path, db):
    path = tmp_path / "run" / "points.sock"
    logger = client(path)
    logger.start()
    try:
        logger.enqueue_point_now("script_a", 1.0)
        assert wait_until(lambda: "waiting for the service" in (logger.status().last_error or ""))
        assert logger.status().queued == 1 and not logger.status().connected
        late = Service(tmp_path, db)
        try:
            assert logger.flush(timeout=10)
            assert db.values("script_a") == [1.0]
        finally:
            late.stop()
    finally:
        logger.stop(timeout=2)


def raw(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(str(path))
    return sock


def receive(sock: socket.socket, count: int) -> list[dict]:
    """The next ``count`` messages from the service."""
    reader, messages = FrameReader(), []
    while len(messages) < count:
        data = sock.recv(4096)
        assert data, "the service closed the connection"
        messages += reader.feed(data)
    return messages


def closed_by_server(sock: socket.socket) -> bool:
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass
    return True


def test_garbage_oversized_and_floods_are_cut_off_the_others_go_on(tmp_path, db):
    service = Service(tmp_path, db, ClientLimits(max_points_per_second=1000))
    good = client(service.path)
    good.start()
    try:
        good.enqueue_point_now("script_a", 1.0)
        assert good.flush(timeout=10)
        garbage = raw(service.path)
        garbage.sendall(b"\x00\x00\x00\x05hello")  # five bytes that are not JSON
        oversized = raw(service.path)
        oversized.sendall(struct.pack(">I", 100 * 1024 * 1024))  # a 100 MB frame announced
        flood = raw(service.path)
        flood.sendall(encode({"hello": {"client": "flooder", "secret": SECRET, "codenames": ["script_b"]}}))
        flood.sendall(encode({"batch": {"first": 0, "points": [[0, 1.7e9, 1.0]] * 2000}}))
        for sock in (garbage, oversized, flood):
            assert closed_by_server(sock)
            sock.close()
        assert wait_until(lambda: service.server.stats["cut_off"] == 3)
        good.enqueue_point_now("script_a", 2.0)
        assert good.flush(timeout=10)
        assert db.values("script_a") == [1.0, 2.0] and db.values("script_b") == []
    finally:
        good.stop(timeout=5)
        service.stop()


def test_a_batch_sent_again_is_stored_once(service, db):
    """The same numbered points twice (a client whose acknowledgement was lost)."""
    answers = []
    for _ in range(2):
        sock = raw(service.path)
        sock.sendall(encode({"hello": {"client": "resender", "secret": SECRET, "codenames": ["script_b"]}}))
        sock.sendall(encode({"batch": {"first": 0, "points": [[0, 1.7e9 + i, float(i)] for i in range(5)]}}))
        answers.append(receive(sock, 2))  # the welcome, and the acknowledgement
        sock.close()
    assert answers == [[welcome(0), {"ack": 5}], [welcome(5), {"ack": 5}]]
    assert service.logger.flush(timeout=10)
    assert db.values("script_b") == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert service.server.stats["duplicates"] == 5


def test_the_socket_settings_are_checked(tmp_path):
    from PyExpLabSys.service.config import ConfigError, load_config

    from ..conftest import ONE_GAUGE_TOML

    base = '[database]\ntable = "t"\npath = "x.sqlite"\n'
    path = tmp_path / "setup.toml"
    path.write_text(base + '[service]\nsocket = "points.sock"\n' + ONE_GAUGE_TOML.format(codename="p"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "service.client_codenames: missing: the socket needs the codenames its clients may send" in (
        caught.value.problems
    )
    assert any(p.startswith("service.socket: needs a [spool]") for p in caught.value.problems)
    path.write_text(
        base
        + '[spool]\npath = "spool"\n[service]\nsocket = "points.sock"\nclient_codenames = ["p"]\n'
        + ONE_GAUGE_TOML.format(codename="p")
    )
    with pytest.raises(ConfigError, match="duplicate codename 'p'"):
        load_config(path)


# -- issue 22: bad values, a strict schema, identities ---------------------------------


def test_the_snapshot_counts_each_codenames_stored_points_once(service, db):
    """Per codename: the points stored (a batch sent again with a new tail counts its
    tail only; a point the logger refuses does not count) and the newest by time; the
    connected clients while they are connected."""
    t = 1.7e9
    sock = raw(service.path)
    assert hello(sock, "twice", ("script_a", "script_b")) == welcome(0)
    sock.sendall(
        encode({"batch": {"first": 0, "points": [[0, t + 1, 1.0], [1, t + 2, 2.0], [0, t + 3, 3.0]]}})
    )
    assert receive(sock, 1) == [{"ack": 3}]
    sock.close()
    sock = raw(service.path)
    assert hello(sock, "twice", ("script_a", "script_b")) == welcome(3)
    again = [[1, t + 2, 2.0], [0, t + 3, 3.0], [1, t + 5, 5.0], [0, 1e12, 9.0], [0, t + 2.5, 2.5]]
    sock.sendall(encode({"batch": {"first": 1, "points": again}}))
    rejected, ack = receive(sock, 2)
    assert ack == {"ack": 6} and rejected["rejected"]["count"] == 1
    snap = service.server.snapshot()
    assert snap["codenames"] == {
        "script_a": {"points": 3, "last_time": t + 3, "last_value": 3.0},
        "script_b": {"points": 2, "last_time": t + 5, "last_value": 5.0},
    }
    (connected,) = snap["connected_clients"]
    assert connected["client"] == "twice" and connected["codenames"] == ["script_a", "script_b"]
    assert (connected["points"], connected["position"]) == (5, 6)
    sock.close()
    assert wait_until(lambda: not service.server.snapshot()["connected_clients"])
    assert service.logger.flush(timeout=10)
    assert db.values("script_a") == [1.0, 3.0, 2.5] and db.values("script_b") == [2.0, 5.0]


def hello(sock: socket.socket, client: str, codenames=("script_b",), secret: str = SECRET) -> dict:
    sock.sendall(encode({"hello": {"client": client, "secret": secret, "codenames": list(codenames)}}))
    return receive(sock, 1)[0]


def test_a_nan_through_the_socket_is_stored_as_null_and_blocks_nothing(service, db):
    """Issue 22: one NaN lost the whole batch for good; in-process it is stored as NULL."""
    logger = client(service.path)
    logger.start()
    try:
        for value in (1.0, float("nan"), 3.0, float("inf"), 5.0):
            logger.enqueue_point_now("script_a", value)
        assert logger.flush(timeout=10) is True
        assert db.values("script_a") == [1.0, None, 3.0, None, 5.0]
        assert service.logger.status().nonfinite_seen == 2
        assert service.server.stats["cut_off"] == 0
    finally:
        report = logger.stop(timeout=5)
    assert report.delivered_all and report.undelivered == 0


def test_points_that_break_the_schema_are_dead_lettered_and_the_rest_stored(service, db):
    sock = raw(service.path)
    assert hello(sock, "sloppy") == welcome(0)
    t = 1.7e9
    points = [
        [0, t, 1.0],
        [0, t, "12.5"],
        [0, t, "nan"],
        [0, t, True],
        [0.9, t, 2.0],
        [1, t, 2.0],
        [0, "t", 2.0],
    ]
    points += [[0, t, None], [0, 1e12, 4.0], [0, t, 5]]
    sock.sendall(encode({"batch": {"first": 0, "points": points}}))
    rejected, ack = receive(sock, 2)
    assert ack == {"ack": 10}
    assert rejected["rejected"]["first"] == 0 and rejected["rejected"]["count"] == 7
    assert [offset for offset, _ in rejected["rejected"]["points"]] == [1, 2, 3, 4, 5, 6, 8]
    assert "number or null" in rejected["rejected"]["points"][0][1]
    assert "outside what the time column can store" in rejected["rejected"]["points"][-1][1]
    sock.sendall(encode({"batch": {"first": 10, "points": [[0, t, 6.0]]}}))  # the next batch flows
    assert receive(sock, 1) == [{"ack": 11}]
    sock.close()
    assert service.logger.flush(timeout=10)
    assert db.values("script_b") == [1.0, None, 5.0, 6.0]
    assert service.logger.status().dead_lettered == 7
    assert service.server.stats["rejected_points"] == 7 and service.server.stats["cut_off"] == 0
    reasons = [r["reason"] for r in service.logger.dead_letters.records()]
    assert all(reason for reason in reasons) and len(reasons) == 7


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"batch": {"first": 0, "points": [[0, 1e400, 1.0]]}}', "frame"),
        (b'{"batch": {"first": ' + b"9" * 5000 + b', "points": []}}', "frame"),
        (b'{"batch": {"first": 0, "points": [[0, 1.7e9, NaN]]}}', "frame"),
        (b'{"batch": ' + b"[" * 200 + b"]" * 200 + b"}", "schema"),
        (b'{"batch": ' + b"[" * 100000 + b"]" * 100000 + b"}", "frame"),
        (b'{"batch": {"first": 0.5, "points": []}}', "schema"),
        (b'{"batch": {"first": true, "points": []}}', "schema"),
        (b'{"batch": {"first": 0, "points": {}}}', "schema"),
        (b'{"batch": {"first": 0, "points": [], "more": 1}}', "schema"),
        (b"\x00\x01" + struct.pack("<QI", 0, 2) + b"\x00" * 35, "schema"),  # packed, cut short
        (b"\x00\x01" + struct.pack("<QI", 2**53, 0), "schema"),
        (b"\x00\x09garbage", "frame"),
    ],
)
def test_malformed_frames_are_refused_counted_and_never_a_traceback(service, db, body, kind, caplog):
    sock = raw(service.path)
    assert hello(sock, "broken") == welcome(0)
    sock.sendall(struct.pack(">I", len(body)) + body)
    answer = receive(sock, 1)[0]
    assert "refused" in answer
    assert closed_by_server(sock)
    sock.close()
    assert wait_until(lambda: service.server.refusals[kind] == 1)
    assert service.server.stats["cut_off"] == 1
    assert not [r for r in caplog.records if r.exc_info]
    good = raw(service.path)  # the server goes on
    assert hello(good, "next") == welcome(0)
    good.close()


def packed_batch(first: int, points: list[tuple[int, float, float]]) -> bytes:
    """A packed batch frame as an independent client writes it from the protocol's
    description: ``00 01``, first, count, then the columns, little-endian."""
    count = len(points)
    body = b"\x00\x01" + struct.pack("<QI", first, count)
    body += struct.pack(f"<{count}H", *(p[0] for p in points))
    body += struct.pack(f"<{count}d", *(p[1] for p in points))
    body += struct.pack(f"<{count}d", *(p[2] for p in points))
    return struct.pack(">I", len(body)) + body


def test_packed_batches_are_stored_once_with_their_bad_points_dead_lettered(service, db):
    """The welcome offers packed batches; a raw client sends them (a resent one
    overlapping the first is stored once); non-finite values become NULL, a bad index
    or time refuses only that point."""
    sock = raw(service.path)
    assert hello(sock, "packer", ["script_a", "script_b"]) == welcome(0)
    t, nan, inf = 1.7e9, float("nan"), float("inf")
    sock.sendall(packed_batch(0, [(0, t, 1.0), (1, t, 2.0), (0, t + 1, nan), (1, t + 1, inf)]))
    assert receive(sock, 1) == [{"ack": 4}]
    sock.sendall(packed_batch(2, [(0, t + 1, nan), (1, t + 1, inf), (0, t + 2, 3.0)]))  # resent tail
    assert receive(sock, 1) == [{"ack": 5}]
    sock.sendall(packed_batch(5, [(1, t + 2, 7.0), (5, t, 1.0)]))
    rejected, ack = receive(sock, 2)
    assert ack == {"ack": 7}
    assert rejected["rejected"]["count"] == 1 and rejected["rejected"]["points"][0][0] == 1
    sock.sendall(packed_batch(7, [(0, nan, 1.0), (1, 1e12, 2.0), (0, t + 3, 4.0)]))
    rejected, ack = receive(sock, 2)
    assert ack == {"ack": 10}
    assert [offset for offset, _ in rejected["rejected"]["points"]] == [0, 1]
    assert "outside what the time column can store" in rejected["rejected"]["points"][1][1]
    assert service.server.snapshot()["codenames"] == {  # what was stored, once; the newest
        "script_a": {"points": 4, "last_time": t + 3, "last_value": 4.0},
        "script_b": {"points": 3, "last_time": t + 2, "last_value": 7.0},
    }
    sock.close()
    assert service.logger.flush(timeout=10)
    assert db.values("script_a") == [1.0, None, 3.0, 4.0]
    assert db.values("script_b") == [2.0, None, 7.0]
    assert service.server.stats["duplicates"] == 2 and service.server.stats["rejected_points"] == 3
    assert service.logger.status().dead_lettered == 3 and service.server.stats["cut_off"] == 0


def test_an_impostor_can_neither_send_as_a_client_nor_learn_its_position(service, db):
    """Issue 22: a point at the welcome's position replaced the real one; an empty batch
    500 ahead made the service drop the real client's next 500 points."""
    real = raw(service.path)
    assert hello(real, "victim") == welcome(0)
    real.sendall(encode({"batch": {"first": 0, "points": [[0, 1.7e9, 1.0]]}}))
    assert receive(real, 1) == [{"ack": 1}]
    for attempt in range(2):  # while the victim is connected, and after it left
        impostor = raw(service.path)
        answer = hello(impostor, "victim", secret="f" * 32)
        assert "welcome" not in answer and "bound to another client" in answer["refused"]
        try:  # the jump: the server has closed the connection already
            impostor.sendall(encode({"batch": {"first": 500, "points": []}}))
        except OSError:
            pass
        assert closed_by_server(impostor)
        impostor.close()
        if attempt == 0:
            real.close()
    real = raw(service.path)
    assert hello(real, "victim") == welcome(1)
    real.sendall(encode({"batch": {"first": 1, "points": [[0, 1.7e9, 2.0]]}}))
    assert receive(real, 1) == [{"ack": 2}]
    real.close()
    assert service.logger.flush(timeout=10)
    assert db.values("script_b") == [1.0, 2.0]
    assert service.server.refusals["identity"] == 2


def test_a_client_keeps_its_identity_in_its_spool(service, db, tmp_path):
    spool = tmp_path / "client_spool.sqlite"
    for value in (1.0, 2.0):
        logger = ContinuousLogger(
            "t",
            "u",
            "p",
            ["script_a"],
            service=str(service.path),
            spool_path=spool,
            timeouts=FAST,
            retry=RETRY,
        )
        logger.start()
        logger.enqueue_point_now("script_a", value)
        assert logger.flush(timeout=10)
        assert logger.stop(timeout=5).delivered_all
    assert db.values("script_a") == [1.0, 2.0]
    assert service.server.refusals["identity"] == 0
    assert len(service.server.identities) == 1


def test_codenames_may_belong_to_a_user_or_a_client(tmp_path, db):
    import getpass

    service = Service(tmp_path, db)
    service.server.stop()
    me = getpass.getuser()
    owners = [("script_a", "user", me), ("script_b", "client", "only-me")]
    service.server = PointsServer(service.path, service.logger, ALLOWED, owners=owners).start()
    try:
        sock = raw(service.path)
        assert "welcome" in hello(sock, "anyone", ["script_a"])
        sock.close()
        sock = raw(service.path)
        assert "belongs to another client" in hello(sock, "anyone-else", ["script_b"])["refused"]
        sock.close()
        sock = raw(service.path)
        assert "welcome" in hello(sock, "only-me", ["script_b"])
        sock.close()
        service.server.stop()
        owners = [("script_a", "user", "nobody")]
        service.server = PointsServer(service.path, service.logger, ALLOWED, owners=owners).start()
        sock = raw(service.path)
        assert "belongs to the user 'nobody'" in hello(sock, "x", ["script_a"])["refused"]
        sock.close()
    finally:
        service.stop()


def test_client_codenames_take_owners_in_the_config(tmp_path):
    from PyExpLabSys.service.config import load_config

    from ..conftest import ONE_GAUGE_TOML

    path = tmp_path / "setup.toml"
    path.write_text(
        '[database]\ntable = "t"\npath = "x.sqlite"\n[spool]\npath = "spool"\n[service]\nsocket = "p.sock"\n'
        'client_codenames = ["a", { codename = "b", user = "labuser" }, { codename = "c", client = "x" }]\n'
        + ONE_GAUGE_TOML.format(codename="p")
    )
    service = load_config(path).service
    assert service.client_codenames == ("a", "b", "c")
    assert service.client_codename_owners == (("b", "user", "labuser"), ("c", "client", "x"))


def test_idle_identities_are_forgotten_and_ids_are_bounded(tmp_path, db):
    service = Service(tmp_path, db, ClientLimits(identity_ttl=0.0))
    try:
        sock = raw(service.path)
        assert hello(sock, "short-lived") == welcome(0)
        sock.sendall(encode({"batch": {"first": 0, "points": [[0, 1.7e9, 1.0]]}}))
        assert receive(sock, 1) == [{"ack": 1}]
        sock.close()
        assert wait_until(lambda: service.server.stats["connected"] == 0)
        sock = raw(service.path)  # forgotten: another secret may take the id, from 0
        assert hello(sock, "short-lived", secret="e" * 32) == welcome(0)
        sock.close()
        sock = raw(service.path)
        assert "1 to 128 printable characters" in hello(sock, "x" * 129)["refused"]
        sock.close()
        assert wait_until(lambda: service.server.stats["connected"] == 0)
        assert service.server.intake.wait_durable(5)
        old = hashlib.sha256(SECRET.encode()).hexdigest()[:32]
        assert not [source for source in service.server.intake.positions() if old in source]
    finally:
        service.stop()


# -- issue 22: bounded resources ---------------------------------------------------------


def test_silent_half_sent_and_idle_connections_are_closed_on_time(tmp_path, db):
    limits = ClientLimits(hello_timeout=0.3, frame_timeout=0.3, idle_timeout=0.4)
    service = Service(tmp_path, db, limits)
    try:
        silent = raw(service.path)  # never says hello
        half_hello = raw(service.path)
        half_hello.sendall(struct.pack(">I", 1000) + b'{"hello"')
        half_frame = raw(service.path)
        assert hello(half_frame, "half") == {"welcome": {"next": 0, "heartbeat": 0.1, "packed": 1}}
        half_frame.sendall(struct.pack(">I", 1000) + b'{"batch"')
        idle = raw(service.path)
        assert "welcome" in hello(idle, "idle")
        started = time.monotonic()
        for sock in (silent, half_hello, half_frame, idle):
            assert closed_by_server(sock)
            sock.close()
        assert time.monotonic() - started < 3.0
        assert wait_until(lambda: service.server.stats["connected"] == 0)
        refusals = service.server.refusals
        assert refusals["hello_timeout"] == 2 and refusals["frame_timeout"] == 1
        assert refusals["idle_timeout"] == 1
    finally:
        service.stop()


def test_the_client_heartbeat_keeps_an_idle_connection(tmp_path, db):
    service = Service(tmp_path, db, ClientLimits(idle_timeout=0.4))
    logger = client(service.path)
    logger.start()
    try:
        logger.enqueue_point_now("script_a", 1.0)
        assert logger.flush(timeout=10)
        idle_until = time.monotonic() + 1.5  # nearly four idle time-outs without a point
        while time.monotonic() < idle_until:
            assert service.server.stats["connected"] == 1
            time.sleep(0.05)
        assert service.server.stats["clients"] == 1 and service.server.refusals["idle_timeout"] == 0
        logger.enqueue_point_now("script_a", 2.0)
        assert logger.flush(timeout=10)
        assert db.values("script_a") == [1.0, 2.0]
    finally:
        logger.stop(timeout=5)
        service.stop()


def test_clients_beyond_the_limit_are_told_and_the_first_ones_go_on(tmp_path, db):
    service = Service(tmp_path, db, ClientLimits(max_clients=3))
    try:
        held = [raw(service.path) for _ in range(3)]
        assert all("welcome" in hello(sock, f"c{n}") for n, sock in enumerate(held))
        extra = raw(service.path)
        assert receive(extra, 1) == [{"busy": "too many clients (the limit is 3)"}]
        extra.close()
        held[0].sendall(encode({"batch": {"first": 0, "points": [[0, 1.7e9, 1.0]]}}))
        assert receive(held[0], 1) == [{"ack": 1}]
        held.pop().close()
        assert wait_until(lambda: service.server.stats["connected"] == 2)
        again = raw(service.path)
        assert "welcome" in hello(again, "c9")
        for sock in [*held, again]:
            sock.close()
        assert service.server.refusals["capacity"] == 1
    finally:
        service.stop()


def test_a_client_told_busy_waits_and_gets_in_later(tmp_path, db):
    service = Service(tmp_path, db, ClientLimits(max_clients=1))
    try:
        squatter = raw(service.path)
        assert "welcome" in hello(squatter, "squatter")
        logger = client(service.path)  # no error: busy is a reason to wait, not to give up
        logger.start()
        logger.enqueue_point_now("script_a", 1.0)
        assert wait_until(lambda: "busy" in (logger.status().last_error or ""))
        squatter.close()
        assert logger.flush(timeout=10)
        assert db.values("script_a") == [1.0]
        logger.stop(timeout=5)
    finally:
        service.stop()


def test_half_received_frames_share_a_bounded_budget(tmp_path, db):
    service = Service(tmp_path, db, ClientLimits(max_buffered=300_000))
    try:
        hogs = [raw(service.path) for _ in range(3)]
        for n, sock in enumerate(hogs):
            assert "welcome" in hello(sock, f"hog{n}")
            sock.sendall(struct.pack(">I", 4_000_000) + b" " * 120_000)  # announced, not sent
        assert wait_until(lambda: service.server.refusals["buffers"] == 1)
        # the refused client is told, then closed once the answer is out (not at once)
        assert wait_until(lambda: service.server.snapshot()["connected"] == 2)
        assert service.server.refusals["buffers"] == 1
        for sock in hogs:
            sock.close()
    finally:
        service.stop()


def test_the_page_shows_no_absolute_paths_or_pid():
    from PyExpLabSys.service.public import public_snapshot

    base = Path("/var/lib/pyexplabsys-logger/lab")
    snapshot = {
        "pid": 4242,
        "config": "/etc/pyexplabsys-logger/lab.toml",
        "database": "sqlite /var/lib/pyexplabsys-logger/lab/data/lab.sqlite (table t)",
        "logger": {"backend": "mysql user@db.lab:3306/cinfdata", "url": "http://127.0.0.1:8080/x"},
        "points_socket": {"socket": "/run/pyexplabsys-logger/lab/points.sock", "connected": 2},
    }
    shown = public_snapshot(snapshot, base)
    assert "pid" not in shown
    assert shown["config"] == "lab.toml"
    assert shown["database"] == "sqlite data/lab.sqlite (table t)"
    assert shown["logger"] == snapshot["logger"]
    assert shown["points_socket"] == {"socket": "points.sock", "connected": 2}


def test_healthz_says_why_the_socket_cannot_accept():
    from PyExpLabSys.service.health import judge

    snapshot = {
        "state": "running",
        "logger": {"running": True},
        "points_socket": {"accepting": False, "accept_error": "cannot accept new clients since 3 s: x"},
    }
    health = judge(snapshot, 300, 120, time.time())
    assert not health.ok and health.reasons == ("points socket: cannot accept new clients since 3 s: x",)


# -- issue 18: the client pipelines its batches ----------------------------------------


def test_the_client_sends_batches_ahead_and_takes_acknowledgements_in_order(tmp_path):
    """A stand-in service that acknowledges nothing until three batches have arrived: a
    client waiting for each acknowledgement before the next batch would stall."""
    from PyExpLabSys.datalog.policies import BatchPolicy

    path = tmp_path / "fake.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    batches: list[tuple[int, int]] = []

    def fake_service() -> None:
        conn, _ = listener.accept()
        reader = FrameReader()
        while True:
            data = conn.recv(65536)
            if not data:
                return
            for message in reader.feed(data):
                if "hello" in message:  # a service without packed batches: JSON ones come
                    conn.sendall(encode({"welcome": {"next": 0, "heartbeat": HEARTBEAT}}))
                elif "batch" in message:
                    batches.append((message["batch"]["first"], len(message["batch"]["points"])))
                    if len(batches) >= 3:  # then everything so far, in order
                        for first, count in batches[-3 if len(batches) == 3 else -1 :]:
                            conn.sendall(encode({"ack": first + count}))
                elif "flush" in message:
                    conn.sendall(encode({"flushed": {"token": message["flush"]["token"], "ok": True}}))

    thread = threading.Thread(target=fake_service, daemon=True)
    thread.start()
    logger = ContinuousLogger(
        "t",
        "u",
        "p",
        ["script_a"],
        service=str(path),
        timeouts=FAST,
        retry=RETRY,
        batch=BatchPolicy(max_points=10),
    )
    for value in range(50):
        logger.enqueue_point_now("script_a", float(value))
    logger.start()
    try:
        assert logger.flush(timeout=10) is True
        assert batches[:5] == [(0, 10), (10, 10), (20, 10), (30, 10), (40, 10)]
        assert logger.status().committed == 50 and logger.status().reconnects == 0
    finally:
        logger.stop(timeout=5)
        listener.close()


def test_a_position_saved_before_identities_is_adopted_by_the_first_hello(tmp_path, db):
    """Spools of the earlier version keep positions under the bare client id."""
    first = Service(tmp_path, db)
    first.server.intake.append("legacy", 5, [])
    assert first.server.intake.wait_durable(5)
    first.stop()
    second = Service(tmp_path, db)
    try:
        sock = raw(second.path)
        assert hello(sock, "legacy") == welcome(5)
        sock.close()
        sock = raw(second.path)
        assert "bound to another client" in hello(sock, "legacy", secret="e" * 32)["refused"]
        sock.close()
        assert second.server.intake.wait_durable(5)
        assert "legacy" not in second.server.intake.positions()
    finally:
        second.stop()


def test_one_users_many_ids_push_out_only_that_users_idle_ones():
    from PyExpLabSys.points.identity import Identities, NotOwner

    class Intake:  # what Identities asks of the logger's intake
        def __init__(self) -> None:
            self.forgotten: list[str] = []

        def positions(self) -> dict[str, int]:
            return {}

        def forget(self, sources: list[str]) -> None:
            self.forgotten += sources

    intake = Intake()
    identities = Identities(intake, ttl=3600, capacity=4, per_user=2)  # type: ignore[arg-type]  # a stand-in
    other = identities.claim("other-user's", 1001, SECRET)
    identities.release(other)
    for n in range(5):  # user 1000: each new id pushes out its own longest idle one
        identities.release(identities.claim(f"mine-{n}", 1000, SECRET))
    assert len(identities) == 3 and not [s for s in intake.forgotten if "other" in s]
    held = [identities.claim(f"busy-{n}", 1002, SECRET) for n in range(2)]  # connected: not pushed out
    with pytest.raises(NotOwner, match="too many client identities"):
        identities.claim("busy-2", 1002, SECRET)
    for identity in held:
        identities.release(identity)
