"""The notify protocol against a real unix datagram socket."""

from __future__ import annotations

import os
import socket
import uuid

from PyExpLabSys.service.notify import Notifier


def test_messages_reach_the_socket(notify_socket):
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path)})
    assert notifier.enabled
    assert notifier.ready("logging 3\ncodenames")
    assert notifier.watchdog() and notifier.status("a  b") and notifier.stopping()
    received = [notify_socket.receive() for _ in range(4)]
    assert received == ["READY=1\nSTATUS=logging 3 codenames", "WATCHDOG=1", "STATUS=a b", "STOPPING=1"]


def test_abstract_socket_address():
    name = f"pyexplabsys-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(100) == b"READY=1"


def test_without_socket_everything_is_a_noop(tmp_path):
    notifier = Notifier({})
    assert not notifier.enabled and not notifier.ready() and notifier.watchdog_interval is None
    # A socket that is gone: reported as False, never raised.
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready()


def test_watchdog_interval_is_half_of_watchdog_usec_for_this_process():
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval == 15.0
    mine = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval == 2.0
    assert Notifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "junk"}).watchdog_interval is None
