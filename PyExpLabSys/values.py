"""The ground floor: the small values that the backends and the logging core share.

A point, the time-outs of a database conversation and the time range a classic
``TIMESTAMP`` column can store. Everything else imports them from here, so no import
runs from the backends up into the core; this module imports nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TIMESTAMP_RANGE", "Point", "Timeouts"]

#: One measurement as it travels from the buffer to the database:
#: ``(type_id, unixtime, value)``. ``type_id`` is the database id of the codename,
#: ``unixtime`` seconds since the epoch, ``value`` a float or None (stored as NULL).
#: A plain tuple: building one keeps the enqueue path at about a microsecond.
Point = tuple[int, float, "float | None"]

#: Where a TIMESTAMP column can store a time (MySQL/MariaDB: 1970-01-01 00:00:01 UTC to
#: 2038-01-19 03:14:07 UTC). Backends with wider columns declare their own range.
TIMESTAMP_RANGE = (1.0, 2147483647.0)


@dataclass(frozen=True)
class Timeouts:
    """Time limits on every database conversation, in seconds.

    ``read`` and ``write`` bound each socket operation (PyMySQL waits forever without
    them); ``query`` bounds one whole statement, enforced by the server
    (``max_statement_time``) and by the client, which closes the connection when it
    passes; ``startup`` is how long the constructor keeps trying to reach the database.
    """

    connect: float = 5.0
    read: float = 10.0
    write: float = 10.0
    query: float = 10.0
    startup: float = 10.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "query"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Timeouts.{name} must be > 0")
        if self.startup < 0:
            raise ValueError("Timeouts.startup must be >= 0")
