"""The service's points socket in one process: a logger with a spool behind a
PointsServer, clients built as lab scripts build them (``service=``)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.backends.points_protocol import FrameReader, encode
from PyExpLabSys.common.database_saver import ContinuousDataSaver
from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.logger import CodenameLookupError, DataLogger
from PyExpLabSys.datalog.policies import RetryPolicy, SpoolPolicy, Timeouts
from PyExpLabSys.service.points_server import ClientLimits, PointsServer

from .conftest import wait_until

FAST = Timeouts(connect=0.5, read=0.5, write=0.5, query=0.5, startup=0.5)
RETRY = RetryPolicy(first_delay=0.01, base_delay=0.02, max_delay=0.1)
ALLOWED = ["script_a", "script_b"]


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
        flood.sendall(encode({"hello": {"client": "flooder", "codenames": ["script_b"]}}))
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
        sock.sendall(encode({"hello": {"client": "resender", "codenames": ["script_b"]}}))
        sock.sendall(encode({"batch": {"first": 0, "points": [[0, 1.7e9 + i, float(i)] for i in range(5)]}}))
        answers.append(receive(sock, 2))  # the welcome, and the acknowledgement
        sock.close()
    assert answers == [[{"welcome": {"next": 0}}, {"ack": 5}], [{"welcome": {"next": 5}}, {"ack": 5}]]
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
