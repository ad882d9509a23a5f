"""TLS to the database: a private MariaDB with TLS and require_secure_transport=ON.

Certificates are made at test time (:mod:`tests.support.certificates`); the
server's names only ``localhost``, so connecting to 127.0.0.1 with identity checks is
a wrong host name.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from PyExpLabSys.common.loggers import ContinuousLogger, StartupException
from PyExpLabSys.datalog.policies import Timeouts
from tests.support.certificates import Pki, make_pki
from tests.support.fault_proxy import FaultProxy
from tests.support.mariadb_server import MariaDBServer, ensure_mariadb_installed

from ..conftest import (
    DATABASE,
    LOGGER_PASSWORD,
    LOGGER_USER,
    make_classic_table,
    prepare_logger_database,
)
from .flow import Run, wait_for

pytestmark = pytest.mark.mariadb

QUICK = Timeouts(connect=1.0, read=2.0, write=2.0, query=2.0, startup=2.0)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), server_names="DNS:localhost")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("other-pki"), ca_name="other")


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[MariaDBServer]:
    """TLS on, and connections without it refused (the admin's connections of the
    test helper negotiate TLS by themselves)."""
    ensure_mariadb_installed()
    with MariaDBServer(
        extra_args=[f"--ssl-ca={pki.ca}", f"--ssl-cert={pki.server_cert}", f"--ssl-key={pki.server_key}"]
    ) as db:
        db.query("SET GLOBAL require_secure_transport = ON")
        prepare_logger_database(db)
        yield db


@pytest.fixture
def proxy(server: MariaDBServer) -> Iterator[FaultProxy]:
    if not server.running:
        server.restart()
    with FaultProxy(server.host, server.port) as fault_proxy:
        yield fault_proxy


def tls(pki: Pki, **extra) -> dict:
    return dict(
        ssl_ca=pki.ca, ssl_cert=pki.client_cert, ssl_key=pki.client_key, ssl_verify_identity=True, **extra
    )


def test_logging_over_tls_through_faults(server, proxy, pki, tmp_path, caplog):
    """Verified TLS end to end; a killed and restarted server and reset connections on
    the way: nothing lost, nothing twice, no key material in logs or status."""
    caplog.set_level(logging.DEBUG)
    table = make_classic_table(server, "InnoDB", ("tls_gauge", "tls_flow"))
    run = Run(table, proxy, tmp_path, host=f"localhost:{proxy.port}", **tls(pki))
    try:
        run.committed_more()
        assert "TLS (certificate and host name)" in run.status().backend
        server.kill()
        wait_for(lambda: run.logger._drain.failures >= 2, 15, "failed reconnection attempts")
        server.restart()
        server.query("SET GLOBAL require_secure_transport = ON")
        run.committed_more()
        proxy.reset_all()
        run.committed_more()
        status = json.dumps(run.status().as_dict())
    finally:
        run.finish()
    for key in (pki.client_key, pki.server_key, pki.ca.with_suffix(".key")):
        body = key.read_text().splitlines()[1]  # a line of the key itself
        assert body not in caplog.text and body not in status


def test_a_wrong_ca_fails_start_up_naming_the_file(server, other_ca):
    with pytest.raises(StartupException) as caught:
        ContinuousLogger(
            "dateplots_x",
            LOGGER_USER,
            LOGGER_PASSWORD,
            [],
            host="localhost",
            port=server.port,
            database=DATABASE,
            timeouts=QUICK,
            ssl_ca=other_ca.ca,
        )
    message = str(caught.value)
    assert f"not trusted with CA file {other_ca.ca}" in message and "\n" not in message


def test_a_wrong_host_name_fails_start_up_naming_the_host(server, pki):
    with pytest.raises(StartupException, match=r"does not name host '127.0.0.1'"):
        ContinuousLogger(
            "dateplots_x",
            LOGGER_USER,
            LOGGER_PASSWORD,
            [],
            host="127.0.0.1",
            port=server.port,
            database=DATABASE,
            timeouts=QUICK,
            **tls(pki),
        )


def test_a_missing_certificate_file_is_named_at_the_call(pki, tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(StartupException, match=f"ssl_ca: no such file: {missing}"):
        ContinuousLogger("dateplots_x", LOGGER_USER, LOGGER_PASSWORD, [], host="localhost", ssl_ca=missing)
    with pytest.raises(StartupException, match="ssl_cert and ssl_key go together"):
        ContinuousLogger(
            "dateplots_x",
            LOGGER_USER,
            LOGGER_PASSWORD,
            [],
            host="localhost",
            ssl_ca=pki.ca,
            ssl_cert=pki.client_cert,
        )


def test_plain_text_is_refused_and_reported_as_such(server, odbc_dsn):
    """MariaDB's ODBC driver sends plain text unless told otherwise; the server refuses
    it with an access denied, which the logger reports with the likely cause."""
    with pytest.raises(StartupException, match="require_secure_transport=ON refuses connections without TLS"):
        ContinuousLogger(
            "dateplots_x",
            LOGGER_USER,
            LOGGER_PASSWORD,
            [],
            dsn=odbc_dsn,
            host="127.0.0.1",
            port=server.port,
            database=DATABASE,
            timeouts=QUICK,
        )


def test_odbc_over_tls(server, pki, odbc_dsn):
    table = make_classic_table(server, "InnoDB", ("odbc_tls",))
    (codename,) = table.codenames
    logger = ContinuousLogger(
        table.table,
        LOGGER_USER,
        LOGGER_PASSWORD,
        [codename],
        dsn=odbc_dsn,
        host="localhost",
        port=server.port,
        database=DATABASE,
        timeouts=QUICK,
        **tls(pki),
    )
    logger.start()
    for value in range(10):
        logger.enqueue_point_now(codename, float(value))
    assert logger.stop(timeout=10).delivered_all
    assert table.values(codename) == [float(v) for v in range(10)]
