"""The database nodes a backend may write to, in order, and which one it uses now.

``host`` may name one server or several nodes of one MariaDB Galera cluster:
``"db1:3306,db2:3306,db3"`` or ``["db1:3306", "db2"]``; an entry without a port uses
the default port. The backend writes to one node at a time and moves to the next when
that one fails (connection failure, time-out, a node that is not ready), round and round.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Node", "NodeRing", "parse_nodes"]

#: The server when nothing names one (PyExpLabSys's default), and the port of a host
#: entry that names none: the defaults of every MySQL/MariaDB backend and setting.
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 3306

#: ``host``, ``host:port``, ``[v6 address]`` or ``[v6 address]:port``.
_ENTRY = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]\s]+))(?::(?P<port>\d+))?$")


@dataclass(frozen=True)
class Node:
    """One server address."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_nodes(hosts: str | Sequence[str], default_port: int) -> tuple[Node, ...]:
    """The nodes of ``hosts`` (a comma-separated string or a sequence of entries);
    ValueError naming the entry that is not ``host`` or ``host:port``."""
    entries = hosts.split(",") if isinstance(hosts, str) else list(hosts)
    nodes = []
    for entry in entries:
        if not isinstance(entry, str):
            raise ValueError(f"a database host must be a string like 'db1:3306', not {entry!r}")
        match = _ENTRY.match(entry.strip())
        if match is None:
            raise ValueError(f"not a database host: {entry!r} (host or host:port)")
        port = int(match["port"]) if match["port"] else int(default_port)
        if not 0 < port < 65536:
            raise ValueError(f"database host {entry!r}: port must be 1..65535")
        nodes.append(Node(match["v6"] or match["host"], port))
    if not nodes:
        raise ValueError("no database host given")
    return tuple(nodes)


class NodeRing:
    """The nodes in order, and the one in use; moves on when told that one failed."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        if not nodes:
            raise ValueError("no database host given")
        self.nodes = tuple(nodes)
        self._index = 0

    @property
    def current(self) -> Node:
        return self.nodes[self._index]

    def __len__(self) -> int:
        return len(self.nodes)

    def advance(self) -> Node:
        """The next node (the first again after the last); it becomes the current one."""
        self._index = (self._index + 1) % len(self.nodes)
        return self.current
