"""PyExpLabSys's logging set-up for lab scripts: ``get_logger`` and friends.

``get_logger(name, level='INFO', terminal_log=True, file_log=False, file_name=None,
file_max_bytes=1048576, file_backup_count=1, email_on_warnings=True,
email_on_errors=True)`` returns the named logger with a terminal handler, a rotating
file (``name + '.log'`` unless ``file_name``) and mail on warnings and on errors, all
standard-library handlers. Mail goes through ``logging.handlers.SMTPHandler`` behind a
``QueueHandler``/``QueueListener`` pair, so a slow or dead mail server never holds up
the script; each kind of mail is throttled (at most ``util_log_max_emails_per_period``
per ``util_log_email_throttle_time`` seconds; what is held back, up to
``util_log_backlog_limit`` messages, rides along with the next mail).

The mail host and addresses come from the user settings (``util_log_mail_host``,
``util_log_warning_email``, ``util_log_error_email``; the host may say ``host:port``; see
:class:`PyExpLabSys.settings.Settings`), read when this module is imported. Where they
are not set, :data:`WARNING_EMAIL`/:data:`ERROR_EMAIL` are None and no mail handler is
added (logged once), instead of failing the import.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import platform
import queue
import sys
import threading
import time
from collections import deque
from logging.handlers import QueueHandler, QueueListener, RotatingFileHandler, SMTPHandler
from typing import Any

from ..settings import Settings

LOG = logging.getLogger(__name__)

__all__ = [
    "EMAIL_BACKLOG_LIMIT",
    "EMAIL_THROTTLE_TIME",
    "ERROR_EMAIL",
    "MAIL_HOST",
    "MAX_EMAILS_PER_PERIOD",
    "WARNING_EMAIL",
    "activate_library_logging",
    "call_spec_string",
    "get_library_logger_names",
    "get_logger",
    "print_library_logger_names",
]

#: The settings object this module read its mail settings from.
SETTINGS = Settings()


def _setting(name: str) -> Any:
    return SETTINGS.as_dict().get(name)


#: Where warning mails go, error mails go, and the mail server (None: not set).
WARNING_EMAIL: str | None = _setting("util_log_warning_email")
ERROR_EMAIL: str | None = _setting("util_log_error_email")
MAIL_HOST: str | None = _setting("util_log_mail_host")
#: At most this many mails of each kind per EMAIL_THROTTLE_TIME seconds.
MAX_EMAILS_PER_PERIOD: int = int(_setting("util_log_max_emails_per_period") or 5)
EMAIL_THROTTLE_TIME: float = float(_setting("util_log_email_throttle_time") or 86400)
#: How many held-back messages are kept to go along with the next mail.
EMAIL_BACKLOG_LIMIT: int = int(_setting("util_log_backlog_limit") or 250)

_FORMAT = "%(asctime)s:%(name)s: %(levelname)s: %(message)s"
_MAIL_TIMEOUT = 10.0  # seconds for one SMTP exchange (in the mail thread)


def _level(name: str | int) -> int:
    """A numeric level from ``'DEBUG'`` … ``'CRITICAL'`` (any case) or a number."""
    if isinstance(name, int):
        return name
    number = logging.getLevelName(str(name).upper())
    if not isinstance(number, int):
        raise ValueError(f"invalid logging level {name!r} (DEBUG, INFO, WARNING, ERROR or CRITICAL)")
    return number


class _Throttle:
    """When a mail may go: at most ``count`` per ``period`` seconds; the rest waits in
    a bounded backlog that goes along with the next mail."""

    def __init__(self, count: int, period: float, backlog: int) -> None:
        self.sent: deque[float] = deque(maxlen=max(1, count))
        self.period = period
        self.backlog: deque[str] = deque(maxlen=max(1, backlog))
        self.lock = threading.Lock()

    def admit(self, text: str) -> str | None:
        """The mail body to send now (with the backlog), or None (held back)."""
        now = time.monotonic()
        with self.lock:
            if len(self.sent) == self.sent.maxlen and now - self.sent[0] < self.period:
                self.backlog.append(text)
                return None
            self.sent.append(now)
            if not self.backlog:
                return text
            held, self.backlog = list(self.backlog), deque(maxlen=self.backlog.maxlen)
        return text + "\n\nBacklog:\n" + "\n".join(held)


_THROTTLES = {
    logging.WARNING: _Throttle(MAX_EMAILS_PER_PERIOD, EMAIL_THROTTLE_TIME, EMAIL_BACKLOG_LIMIT),
    logging.ERROR: _Throttle(MAX_EMAILS_PER_PERIOD, EMAIL_THROTTLE_TIME, EMAIL_BACKLOG_LIMIT),
}


class ThrottledSMTPHandler(SMTPHandler):
    """Mails records from ``level`` up to (not including) ``below``, throttled; the
    subject's ``{}`` becomes this PC's host name."""

    def __init__(self, level: int, below: int | None, throttle: _Throttle, **smtp: Any) -> None:
        super().__init__(timeout=_MAIL_TIMEOUT, **smtp)
        self.setLevel(level)
        self.below = below
        self.throttle = throttle

    def emit(self, record: logging.LogRecord) -> None:
        if self.below is not None and record.levelno >= self.below:
            return
        body = self.throttle.admit(self.format(record))
        if body is None:
            return
        super().emit(logging.makeLogRecord({**record.__dict__, "mail_body": body}))

    def format(self, record: logging.LogRecord) -> str:
        """The record formatted, or the mail body :meth:`emit` made of it (with backlog)."""
        body = getattr(record, "mail_body", None)
        return body if body is not None else super().format(record)

    def getSubject(self, record: logging.LogRecord) -> str:
        return self.subject.format(platform.node() or "unknown host")


_listeners: list[QueueListener] = []
_warned_no_mail: set[str] = set()


def _mail_handler(kind: str, level: int, below: int | None, address: str | None) -> logging.Handler | None:
    """A queue handler whose listener thread mails ``kind`` records; None without settings."""
    if not MAIL_HOST or not address:
        if kind not in _warned_no_mail:
            _warned_no_mail.add(kind)
            LOG.info(
                "no %s mail: util_log_mail_host and util_log_%s_email are not set in the user settings",
                kind,
                kind,
            )
        return None
    host, _, port = MAIL_HOST.rpartition(":") if MAIL_HOST.count(":") == 1 else ("", "", "")
    smtp = ThrottledSMTPHandler(
        level,
        below,
        _THROTTLES[level],
        mailhost=(host, int(port)) if port.isdigit() else MAIL_HOST,
        fromaddr=address,
        toaddrs=[address],
        subject=f"{kind.capitalize()} from: {{}}",
    )
    smtp.setFormatter(logging.Formatter(_FORMAT))
    records: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=10_000)
    listener = QueueListener(records, smtp, respect_handler_level=True)
    listener.start()
    _listeners.append(listener)
    handler = QueueHandler(records)
    handler.setLevel(level)
    return handler


def _stop_listeners() -> None:
    while _listeners:
        _listeners.pop().stop()  # sends what is queued


atexit.register(_stop_listeners)


def _create_handlers(
    name: str,
    level: int,
    terminal_log: bool,
    file_log: bool,
    file_name: str | None,
    file_max_bytes: int,
    file_backup_count: int,
    email_on_warnings: bool,
    email_on_errors: bool,
) -> list[logging.Handler]:
    handlers: list[logging.Handler | None] = []
    if terminal_log:
        handlers.append(logging.StreamHandler())
    if file_log:
        handlers.append(
            RotatingFileHandler(
                file_name or f"{name}.log", maxBytes=file_max_bytes, backupCount=file_backup_count
            )
        )
    formatter = logging.Formatter(_FORMAT)
    for handler in handlers:
        assert handler is not None
        handler.setFormatter(formatter)
        handler.setLevel(level)
    if email_on_warnings:
        handlers.append(_mail_handler("warning", logging.WARNING, logging.ERROR, WARNING_EMAIL))
    if email_on_errors:
        handlers.append(_mail_handler("error", logging.ERROR, None, ERROR_EMAIL))
    return [handler for handler in handlers if handler is not None]


def _configure(logger: logging.Logger, level: int, options: dict[str, Any]) -> None:
    """Set ``logger``'s level and the handlers ``options`` (get_logger's keyword
    arguments) ask for, replacing those an earlier call installed (no doubled lines)."""
    logger.setLevel(level)
    handlers = _create_handlers(
        logger.name,
        level,
        options["terminal_log"],
        options["file_log"],
        options["file_name"],
        options["file_max_bytes"],
        options["file_backup_count"],
        options["email_on_warnings"],
        options["email_on_errors"],
    )
    for old in [h for h in logger.handlers if getattr(h, "_pyexplabsys_utilities", False)]:
        logger.removeHandler(old)
        old.close()
    for handler in handlers:
        handler._pyexplabsys_utilities = True  # type: ignore[attr-defined]  # our mark, to replace later
        logger.addHandler(handler)


def get_logger(
    name: str,
    level: str | int = "INFO",
    terminal_log: bool = True,
    file_log: bool = False,
    file_name: str | None = None,
    file_max_bytes: int = 1048576,
    file_backup_count: int = 1,
    email_on_warnings: bool = True,
    email_on_errors: bool = True,
) -> logging.Logger:
    """The logger ``name`` (``''``: the root logger) at ``level``, with the handlers
    asked for: terminal, rotating file, mail on warnings, mail on errors. Calling it
    again for the same name replaces the handlers it added before."""
    logger = logging.getLogger(name)
    _configure(logger, _level(level), locals())
    return logger


def get_library_logger_names() -> list[str]:
    """The names of the PyExpLabSys loggers that exist now (their modules are imported)."""
    return sorted(name for name in logging.root.manager.loggerDict if name.startswith("PyExpLabSys"))


def print_library_logger_names() -> None:
    """Write the PyExpLabSys logger names to standard output (the caller asked for them)."""
    sys.stdout.write(
        "Current PyExpLabSys loggers\n" + "".join(f" * {n}\n" for n in get_library_logger_names())
    )


def activate_library_logging(
    logger_name: str,
    logger_to_inherit_from: logging.Logger | None = None,
    level: str | int | None = None,
    terminal_log: bool = True,
    file_log: bool = False,
    file_name: str | None = None,
    file_max_bytes: int = 1048576,
    file_backup_count: int = 1,
    email_on_warnings: bool = True,
    email_on_errors: bool = True,
) -> None:
    """Make a PyExpLabSys library logger (e.g. ``'PyExpLabSys.common.loggers'``) log.

    With ``logger_to_inherit_from`` it shares that logger's handlers and level
    (``level`` overrides); otherwise it gets handlers of its own as :func:`get_logger`
    makes them, at ``level`` (default INFO). ValueError for a name outside PyExpLabSys.
    """
    if logger_name != "PyExpLabSys" and not logger_name.startswith("PyExpLabSys."):
        raise ValueError(
            f"{logger_name!r} is not a PyExpLabSys library logger; the ones configured now are: "
            f"{', '.join(get_library_logger_names()) or '(none: import the module first)'}"
        )
    logger = logging.getLogger(logger_name)
    if logger_to_inherit_from is not None:
        if level is not None:
            logger.setLevel(_level(level))
        elif logger_to_inherit_from.level > 0:
            logger.setLevel(logger_to_inherit_from.level)
        for handler in logger_to_inherit_from.handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
        return
    _configure(logger, _level(level if level is not None else "INFO"), locals())


def call_spec_string() -> str:
    """The arguments of the calling function as a string, e.g. ``(name='x', port=8000)``
    (without ``self``)."""
    frame = sys._getframe(1)
    info = inspect.getargvalues(frame)
    args = info.args[1:] if info.args and info.args[0] == "self" else info.args
    return inspect.formatargvalues(args, info.varargs, info.keywords, info.locals)
