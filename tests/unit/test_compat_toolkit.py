"""The rest of PyExpLabSys's toolkit that lab scripts import: supported_versions,
settings.Settings, utilities.get_logger/activate_library_logging, ValueLogger."""

from __future__ import annotations

import logging
import os
import socketserver
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from PyExpLabSys.common import supported_versions
from PyExpLabSys.common.value_logger import ValueLogger
from PyExpLabSys.settings import DEFAULTS, Settings, resolve_server_location

ROOT = Path(__file__).resolve().parents[2]


# -- supported_versions ----------------------------------------------------------------------


def test_supported_versions_warn_only_outside_their_range():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        supported_versions.python2_and_3(__file__)  # Python 3.11: inside, silent
        supported_versions.python3_only(__file__)
    with pytest.warns(UserWarning, match="supports only Python 2.7") as caught:
        supported_versions.python2_only("/lab/old_script.py")
    assert "/lab/old_script.py" in str(caught[0].message)


# -- Settings ----------------------------------------------------------------------------------


def test_settings_defaults_user_file_and_assignment_shared(settings_home):
    settings_home.write_text("sql_server_host: db.lab.example\nutil_log_mail_host: mail.lab\n")
    first, second = Settings(), Settings()
    assert first.sql_server_host == "db.lab.example"
    assert first.util_log_max_emails_per_period == DEFAULTS["util_log_max_emails_per_period"] == 5
    assert first.util_log_mail_host == "mail.lab"
    first.util_log_max_emails_per_period = 7
    assert second.util_log_max_emails_per_period == 7  # one state for every instance
    with pytest.raises(AttributeError, match="only known settings"):
        first.no_such_setting = 1
    with pytest.raises(AttributeError, match="no setting named 'nope'"):
        _ = first.nope
    with pytest.raises(AttributeError, match="must be set first"):
        _ = first.common_liveserver_host  # no default: needs a user setting


def test_an_assigned_server_setting_is_used_by_the_loggers(settings_home, monkeypatch):
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_HOST", "from-env")
    assert resolve_server_location().host == "from-env"
    Settings().sql_server_host = "assigned.lab"
    assert resolve_server_location().host == "assigned.lab"
    assert resolve_server_location(host="argument").host == "argument"


def test_print_settings_hides_passwords(settings_home, capsys):
    settings_home.write_text("common_sql_reader_password: Sekr1t\n")
    Settings().print_settings()
    out = capsys.readouterr().out
    assert "common_sql_reader_password" in out and "Sekr1t" not in out


# -- utilities ---------------------------------------------------------------------------------


def test_get_logger_rotating_file_and_no_doubled_handlers(tmp_path):
    from PyExpLabSys.common.utilities import get_logger

    path = tmp_path / "lab.log"
    options = {"terminal_log": False, "file_log": True, "file_name": str(path), "file_max_bytes": 2000}
    options.update(file_backup_count=2, email_on_warnings=False, email_on_errors=False)
    get_logger("compat_test_file", level="debug", **options)
    logger = get_logger("compat_test_file", level="DEBUG", **options)  # again: no doubled lines
    assert len(logger.handlers) == 1
    for number in range(200):
        logger.debug("line %d of the lab log", number)
    for handler in logger.handlers:
        handler.flush()
    assert path.exists() and (tmp_path / "lab.log.1").exists() and (tmp_path / "lab.log.2").exists()
    assert not (tmp_path / "lab.log.3").exists()
    assert "line 199 of the lab log" in path.read_text()
    with pytest.raises(ValueError, match="invalid logging level"):
        get_logger("compat_test_file", level="loud")


def test_activate_library_logging_inherits_handlers_and_level(tmp_path):
    from PyExpLabSys.common.utilities import activate_library_logging, get_library_logger_names, get_logger

    parent = get_logger(
        "compat_test_parent", "WARNING", False, True, str(tmp_path / "p.log"), email_on_warnings=False
    )
    assert "PyExpLabSys.common.utilities" in get_library_logger_names()
    activate_library_logging("PyExpLabSys.common.loggers", logger_to_inherit_from=parent)
    library = logging.getLogger("PyExpLabSys.common.loggers")
    assert library.level == logging.WARNING and parent.handlers[0] in library.handlers
    with pytest.raises(ValueError, match="not a PyExpLabSys library logger"):
        activate_library_logging("requests")
    library.removeHandler(parent.handlers[0])
    library.setLevel(logging.NOTSET)


class _SMTPSink(socketserver.StreamRequestHandler):
    """A minimal SMTP server (RFC 5321: greeting, EHLO, MAIL, RCPT, DATA, QUIT), written
    from the protocol, that keeps each message it receives."""

    def handle(self) -> None:
        self.wfile.write(b"220 sink ready\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(part.decode())
                self.server.messages.append("".join(body))  # type: ignore[attr-defined]  # the test's list
                self.wfile.write(b"250 kept\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            elif verb == b"EHLO":
                self.wfile.write(b"250 sink\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


def test_mail_on_warning_and_error_from_the_user_settings(tmp_path):
    """A script's warnings and errors arrive as mails at the server the user settings
    name, with the host in the subject; info lines do not."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPSink)
    server.messages = []  # type: ignore[attr-defined]  # read below
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = tmp_path / "config" / "PyExpLabSys"
        config.mkdir(parents=True)
        (config / "user_settings.yaml").write_text(
            f"util_log_mail_host: 127.0.0.1:{server.server_address[1]}\n"
            "util_log_warning_email: warnings@lab.example\nutil_log_error_email: errors@lab.example\n"
        )
        script = (
            "from PyExpLabSys.common.utilities import get_logger, WARNING_EMAIL, ERROR_EMAIL\n"
            "assert WARNING_EMAIL == 'warnings@lab.example' and ERROR_EMAIL == 'errors@lab.example'\n"
            "log = get_logger('pump_script', terminal_log=False)\n"
            "log.info('all fine')\nlog.warning('pressure high: %s mbar', 3e-5)\nlog.error('pump stopped')\n"
        )
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    messages = server.messages  # type: ignore[attr-defined]  # filled by the sink
    assert len(messages) == 2, messages
    warning = next(m for m in messages if "pressure high" in m)
    error = next(m for m in messages if "pump stopped" in m)
    assert "Subject: Warning from: " in warning and "To: warnings@lab.example" in warning
    assert "Subject: Error from: " in error and "To: errors@lab.example" in error
    assert not any("all fine" in m for m in messages)


def test_mail_throttle_holds_back_and_sends_the_backlog_with_the_next_mail():
    from PyExpLabSys.common.utilities import _Throttle

    throttle = _Throttle(count=2, period=3600, backlog=10)
    assert throttle.admit("one") == "one" and throttle.admit("two") == "two"
    assert throttle.admit("three") is None and throttle.admit("four") is None
    throttle.sent.clear()  # the period passed
    assert throttle.admit("five") == "five\n\nBacklog:\nthree\nfour"


# -- ValueLogger -------------------------------------------------------------------------------


def test_value_logger_upstream_signature_status_and_saved_points():
    class Reader:
        def value(self, channel=None):
            return 0.0

    logger = ValueLogger(Reader(), 600, None, "lin", 1.0, None, None, 0.1)
    assert logger.status == {"quit": False, "trigged": False}
    assert logger.consider(5.0, 1000.0)  # first reading: logged
    assert logger.read_trigged() and logger.saved_points == [(1000.0, 5.0)]
    logger.clear_trigged()
    assert logger.saved_points == [] and not logger.read_trigged()
    assert not logger.consider(5.5, 1010.0)  # within comp_val
    assert not logger.consider(5.6, 1070.0)
    # 70 s > maximumtime * pre_trig_value = 60 s after the last point: the step's onset
    # (the reading before it) is saved with it
    assert logger.consider(9.0, 1071.0)
    assert logger.saved_points == [(1070.0, 5.6), (1071.0, 9.0)]
    assert logger.last == {"time": 1071.0, "val": 9.0}


def test_value_logger_stops_on_status_quit():
    class Reader:
        calls = threading.Event()

        def value(self):
            self.calls.set()
            return 1.0

    reader = Reader()
    logger = ValueLogger(reader, interval=0.01)
    logger.start()
    assert reader.calls.wait(5)
    logger.status["quit"] = True  # how upstream scripts end it
    logger.join(5)
    assert not logger.is_alive() and logger.read_trigged()
