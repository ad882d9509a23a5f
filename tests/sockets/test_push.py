"""The push socket over real UDP, in each action mode, written to by the independent
client: replies byte for byte, and what the owning script gets."""

from __future__ import annotations

import ast
import inspect
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from PyExpLabSys.common.sockets import DATA, DataPushSocket

from .udp_client import Client

NAME = "Data receive socket for giant laser on the moon"
GREETING = b'json_wn#{"greeting": "Live long and prosper", "number": 47}'


@pytest.fixture
def store_last() -> Iterator[DataPushSocket]:
    sock = DataPushSocket(NAME, port=0)
    sock.start()
    yield sock
    sock.stop()


def test_signature_is_upstreams() -> None:
    params = inspect.signature(DataPushSocket).parameters
    assert list(params)[:8] == [
        "name",
        "port",
        "action",
        "queue",
        "callback",
        "return_format",
        "check_activity",
        "activity_timeout",
    ]
    assert params["port"].default == 8500 and params["action"].default == "store_last"
    assert params["return_format"].default == "json" and params["check_activity"].default is False


def test_store_last(store_last: DataPushSocket, client: Client) -> None:
    port = store_last.port
    assert store_last.last == (None, None) and store_last.updated == (None, {})
    before = time.time()
    assert client.ask(port, GREETING) == b"ACK#{'greeting': 'Live long and prosper', 'number': 47}"
    assert client.ask(port, b"raw_wn#number:int:42") == b"ACK#{'number': 42}"
    last_time, last = store_last.last
    assert last == {"number": 42} and before <= last_time <= time.time()
    assert store_last.updated[1] == {"greeting": "Live long and prosper", "number": 42}
    assert store_last.queue is None
    store_last.set_last_to_none()
    store_last.clear_updated()
    assert store_last.last == (None, None) and store_last.updated == (None, {})
    assert DATA[port]["type"] == "push" and DATA[port]["action"] == "store_last"


def test_raw_wn_types_and_lists(store_last: DataPushSocket, client: Client) -> None:
    reply = client.text(
        store_last.port,
        "raw_wn#greeting:str:Live long and prosper;numbers:int:47,42;ok:bool:True;x:float:1.5",
    )
    assert reply.startswith("ACK#")
    assert ast.literal_eval(reply[4:]) == {
        "greeting": "Live long and prosper",
        "numbers": [47, 42],
        "ok": True,
        "x": 1.5,
    }


def test_asking_name_and_commands(store_last: DataPushSocket, client: Client) -> None:
    assert client.ask(store_last.port, "name") == f"RET#{NAME}".encode()
    assert (
        client.ask(store_last.port, "commands")
        == b'RET#["json_wn#", "raw_wn#", "name", "status", "commands"]'
    )
    status = client.json(store_last.port, "status")
    assert status["socket_server_status"][str(store_last.port)]["type"] == "push"


@pytest.mark.parametrize(
    ("request_", "reply"),
    [
        (b"bad bad command", b"ERROR#UNKNOWN_COMMMAND"),
        (b"bad#nonsense", b"ERROR#UNKNOWN_COMMMAND"),
        (b'json_wn#{"a#b": 1}', b"ERROR#UNKNOWN_COMMMAND"),
        (b"json_wn#nonsense", b"ERROR#The string 'nonsense' could not be decoded as JSON"),
        (
            b'json_wn#"nonsense"',
            b"ERROR#The object 'nonsense' returned after decoding the JSON string is not a dict",
        ),
        (
            b"raw_wn#bad",
            b"ERROR#The data part 'bad' did not match the expected format of 3 parts divided by ':'",
        ),
        (
            b"raw_wn#bad:bad:bad:bad",
            b"ERROR#The data part 'bad:bad:bad:bad' did not match the expected format of 3 parts "
            b"divided by ':'",
        ),
        (
            b"raw_wn#codename1:nondatatype:1",
            b"ERROR#The data type 'nondatatype' is unknown. Only dict_keys(['int', 'float', 'str', 'bool']) "
            b"are allowed",
        ),
        (
            b"raw_wn#codename1:int:hh",
            b"ERROR#Unable to convert values to 'int'. Error is: invalid literal for int() with base "
            b"10: 'hh'",
        ),
        (
            b"raw_wn#flag:bool:yes",
            b"ERROR#Unable to convert values to 'bool'. Error is: Cannot translate the string 'yes' to a "
            b"boolean. Only the strings 'True' or 'False' are allowed",
        ),
    ],
)
def test_errors_byte_for_byte(
    store_last: DataPushSocket, client: Client, request_: bytes, reply: bytes
) -> None:
    assert client.ask(store_last.port, request_) == reply
    assert store_last.last == (None, None)  # nothing stored


def test_enqueue_keeps_every_data_set_in_order(client: Client) -> None:
    sock = DataPushSocket(NAME, port=0, action="enqueue")
    sock.start()
    try:
        for number in range(20):
            assert client.ask(sock.port, f'json_wn#{{"number": {number}}}').startswith(b"ACK#")
        assert [sock.queue.get_nowait() for _ in range(20)] == [{"number": n} for n in range(20)]
    finally:
        sock.stop()


def test_enqueue_into_the_scripts_queue_refuses_when_full(client: Client) -> None:
    own: queue.Queue[Any] = queue.Queue(maxsize=1)
    sock = DataPushSocket(NAME, port=0, action="enqueue", queue=own)
    sock.start()
    try:
        assert sock.queue is own
        assert client.ask(sock.port, b'json_wn#{"n": 1}') == b"ACK#{'n': 1}"
        assert (
            client.ask(sock.port, b'json_wn#{"n": 2}')
            == b"ERROR#The queue is full; the data set was not stored"
        )
        assert own.get_nowait() == {"n": 1} and sock.last[1] == {"n": 1}
        assert client.ask(sock.port, b'json_wn#{"n": 3}') == b"ACK#{'n': 3}"
    finally:
        sock.stop()


def test_callback_async_calls_back_in_order_and_survives_a_raising_callback(client: Client) -> None:
    received: list[Any] = []
    done = threading.Event()

    def callback(data: dict[str, Any]) -> None:
        if data.get("boom"):
            raise RuntimeError("the script's callback failed")
        received.append(data)
        if data.get("n") == 9:
            done.set()

    sock = DataPushSocket(NAME, port=0, action="callback_async", callback=callback)
    sock.start()
    try:
        assert client.ask(sock.port, b'json_wn#{"boom": true}') == b"ACK#{'boom': True}"
        for n in range(10):
            client.ask(sock.port, f'json_wn#{{"n": {n}}}')
        assert done.wait(10)
        assert received == [{"n": n} for n in range(10)]
        assert sock.stats["callback_errors"] == 1
    finally:
        sock.stop()


class LaserControl:
    """The callback_direct example of upstream's documentation, reduced."""

    def __init__(self) -> None:
        self.settings = {"power": 100, "focus": 100}

    def callback(self, data: dict[str, Any]) -> Any:
        method = data.pop("method")
        return getattr(self, method)(**data)

    def update_settings(self, **kwargs: Any) -> str:
        for key in kwargs:
            if key not in self.settings:
                raise ValueError(f"Not settings for key: {key}")
        self.settings.update(kwargs)
        return f"Updated settings with: {kwargs}"

    def points(self) -> list[list[float]]:
        return [[1.0, 42.0], [1.5, 45.6], [2.0, 47.0]]

    def summary(self) -> dict[str, Any]:
        return {"answer": 42, "values": [42, 47], "good": False}


@pytest.mark.parametrize(
    ("return_format", "command", "reply"),
    [
        ("json", b'json_wn#{"method": "points"}', b"RET#[[1.0, 42.0], [1.5, 45.6], [2.0, 47.0]]"),
        ("raw", b'json_wn#{"method": "points"}', b"RET#float:1.0,42.0&1.5,45.6&2.0,47.0"),
        ("raw", b'json_wn#{"method": "summary"}', b"RET#answer:int:42;values:int:42,47;good:bool:False"),
        (
            "string",
            b"raw_wn#method:str:update_settings;power:int:300",
            b"RET#Updated settings with: {'power': 300}",
        ),
        ("json", b"raw_wn#method:str:update_settings;colour:str:red", b"EXCEP#Not settings for key: colour"),
        ("json", b'json_wn#{"method": "nothing"}', b"EXCEP#'LaserControl' object has no attribute 'nothing'"),
    ],
)
def test_callback_direct_returns_the_result(
    client: Client, return_format: str, command: bytes, reply: bytes
) -> None:
    laser = LaserControl()
    sock = DataPushSocket(
        NAME, port=0, action="callback_direct", callback=laser.callback, return_format=return_format
    )
    sock.start()
    try:
        assert client.ask(sock.port, command) == reply
    finally:
        sock.stop()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"queue": queue.Queue()}, "The 'queue' argument can only be used when the action is 'enqueue'"),
        ({"callback": print}, "The 'callback' argument can only be used when the action is"),
        ({"action": "callback_async"}, "Value for callback: 'None' is not callable"),
        ({"return_format": "xml"}, "The 'return_format' argument may only be one of"),
        ({"action": "shout"}, "Unknown action 'shout'"),
    ],
)
def test_bad_arguments_fail_at_the_call(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DataPushSocket(NAME, port=0, **kwargs)


def test_a_callback_may_stop_its_own_socket(client: Client) -> None:
    stopped = threading.Event()

    def callback(data: dict[str, Any]) -> str:
        sock.stop()
        stopped.set()
        return "bye"

    sock = DataPushSocket(NAME, port=0, action="callback_direct", callback=callback)
    sock.start()
    assert client.ask(sock.port, b'json_wn#{"stop": 1}') == b'RET#"bye"'
    assert stopped.is_set()
    sock.join(5)
    assert not sock.is_alive()
