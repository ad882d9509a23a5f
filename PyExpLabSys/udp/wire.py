"""The fixed words of PyExpLabSys's UDP socket protocol, and the codename rule.

Clients on other PCs compare replies against these strings, so they stay exactly as
upstream spells them, including the three M's of ``UNKNOWN_COMMMAND``.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "BAD_CHARS",
    "OLD_DATA",
    "PUSH_ACK",
    "PUSH_ERROR",
    "PUSH_EXCEP",
    "PUSH_RET",
    "UNKNOWN_COMMAND",
    "check_codenames",
    "has_bad_char",
]

#: Characters a codename may not hold: they separate the parts of commands and replies.
BAD_CHARS = ["#", ",", ";", ":", "&"]
#: The reply to a command a socket does not know (upstream's spelling, three M's).
UNKNOWN_COMMAND = "UNKNOWN_COMMMAND"
#: Served instead of a value older than its codename's time-out.
OLD_DATA = "OLD_DATA"
#: Prefixes of a push socket's replies: failed, stored, the callback raised, its result.
PUSH_ERROR = "ERROR"
PUSH_ACK = "ACK"
PUSH_EXCEP = "EXCEP"
PUSH_RET = "RET"


def has_bad_char(codename: str) -> bool:
    """True if ``codename`` holds one of :data:`BAD_CHARS`."""
    return any(char in codename for char in BAD_CHARS)


def check_codenames(codenames: Iterable[str]) -> list[str]:
    """The codenames as a list; ValueError for a duplicate, a forbidden character or a
    codename that is not a string (upstream's messages for the first two)."""
    names = list(codenames)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"Codenames must be strings, not {name!r}")
        if names.count(name) > 1:
            raise ValueError(f"Codenames must be unique; '{name}' is present more than once")
        for char in BAD_CHARS:
            if char in name:
                raise ValueError(f"The character '{char}' is not allowed in the codenames")
    return names
