"""The driver foundation and the protocol-script helper."""

from __future__ import annotations

import time

import pytest
import serial

from PyExpLabSys.drivers.base import (
    ChecksumError,
    EmptyReply,
    GarbledReply,
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeout,
    NoValue,
    PortGone,
    Reading,
    Status,
    UnknownCode,
    frame_end,
    parse_float,
)
from PyExpLabSys.drivers.polyscience_4100 import Polyscience4100
from PyExpLabSys.testing.protocol import ProtocolMismatch, ScriptedSerial, expected_protocol

RT = b"RT\r"


@pytest.mark.parametrize(
    ("buf", "terminator", "trailer", "length", "end"),
    [
        (b"abc\r", b"\r", 0, None, 4),
        (b"abc", b"\r", 0, None, None),
        (b"abc\rdef", b"\r", 0, None, 4),
        (b"@@@000ACK1;5", b";", 2, None, None),
        (b"@@@000ACK1;52", b";", 2, None, 13),
        (b"12345", None, 0, 4, 4),
        (b"123", None, 0, 4, None),
        (b"\x06\r\nxx", b"\r\n", 0, 10, 3),
    ],
)
def test_frame_end(buf, terminator, trailer, length, end) -> None:
    assert frame_end(buf, terminator, trailer, length) == end


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b"+023.4", 23.4),
        (b"1.23E-3", 1.23e-3),
        ("-5", -5.0),
        (b" .5 ", 0.5),
        (b"7.", 7.0),
    ],
)
def test_parse_float(text, value) -> None:
    assert parse_float(text) == value


@pytest.mark.parametrize("text", [b"", b"nan", b"inf", b"1_0", b"#23.4", b"1.2.3", b"E5"])
def test_parse_float_rejects_garbage(text) -> None:
    with pytest.raises(GarbledReply):
        parse_float(text)


def test_reading_is_frozen_and_knows_ok() -> None:
    reading = Reading(1.0)
    assert reading.ok and not Reading(None, Status.SENSOR_OFF).ok
    with pytest.raises(AttributeError):
        reading.value = 2.0  # type: ignore[misc]  # the point: it is frozen


def test_script_rejects_an_unexpected_write() -> None:
    with pytest.raises(ProtocolMismatch, match="expected write"):
        with expected_protocol(Polyscience4100, [(b"RW\r", b"1\r")]) as chiller:
            chiller.read_temperature_reading()


def test_script_fails_when_pairs_are_left() -> None:
    with pytest.raises(ProtocolMismatch, match="not consumed"):
        with expected_protocol(Polyscience4100, [(RT, b"+023.4\r"), (RT, b"+023.4\r")]) as c:
            c.read_temperature_reading()


def test_script_fails_on_unread_answer_bytes() -> None:
    port = ScriptedSerial([(RT, b"+023.4\r")])
    port.write(RT)
    with pytest.raises(ProtocolMismatch, match="never read"):
        port.verify()


def test_script_fails_on_a_swallowed_mismatch() -> None:
    port = ScriptedSerial([(RT, b"")])
    with pytest.raises(ProtocolMismatch):
        port.write(b"XX")
    with pytest.raises(ProtocolMismatch):
        port.verify()


def test_timeout_then_the_next_exchange_starts_clean() -> None:
    pairs = [(RT, b"+02"), (RT, b"+023.4\r")]
    with expected_protocol(Polyscience4100, pairs, timeout=0.05) as chiller:
        with pytest.raises(InstrumentTimeout) as info:
            chiller.read_temperature_reading()
        assert info.value.partial == b"+02"
        assert chiller.read_temperature_reading() == Reading(23.4)


def test_bytes_after_a_frame_are_drained_before_the_next_exchange() -> None:
    pairs = [(RT, b"+023.4\rjunk"), (RT, b"+024.0\r")]
    with expected_protocol(Polyscience4100, pairs, timeout=0.05) as chiller:
        assert chiller.read_temperature_reading().value == 23.4
        assert chiller.read_temperature_reading().value == 24.0
        assert chiller.serial.flushes >= 3


def test_reply_without_terminator_is_garbage() -> None:
    pairs = [(RT, b"x" * 2000)]
    with expected_protocol(Polyscience4100, pairs, timeout=0.05) as chiller:
        with pytest.raises(GarbledReply):
            chiller.read_temperature_reading()
        chiller.serial.reset_input_buffer()


def test_vanished_port_raises_port_gone_and_is_reopened() -> None:
    lost = serial.SerialException("device reports readiness to read but returned no data")
    pairs = [(RT, lost), (RT, b"+023.4\r")]
    with expected_protocol(Polyscience4100, pairs, timeout=0.05) as chiller:
        with pytest.raises(PortGone):
            chiller.read_temperature_reading()
        assert not chiller.serial.is_open
        assert chiller.read_temperature_reading().value == 23.4
        assert chiller.serial.opens == 1


def test_missing_device_path_is_port_gone() -> None:
    with pytest.raises(PortGone):
        Polyscience4100("/dev/does-not-exist-pyexplabsys")


def test_url_ports_are_accepted() -> None:
    chiller = Polyscience4100("loop://", timeout=0.05)  # loop:// echoes the request
    with pytest.raises(GarbledReply):
        chiller.read_temperature_reading()
    chiller.close()


def test_port_settings_default_to_the_class_and_can_be_overridden() -> None:
    from PyExpLabSys.drivers.omega_cni import ISeries

    assert ISeries("loop://").settings == {"baudrate": 19200, "bytesize": 7, "parity": "O", "stopbits": 1}
    assert ISeries("loop://", baudrate=9600).settings["baudrate"] == 9600


# --------------------------------------------------------------------------- error types
@pytest.mark.parametrize(
    ("error", "builtins"),
    [
        (InstrumentError("x"), (OSError, IOError)),
        (InstrumentTimeout("x"), (OSError, TimeoutError)),
        (EmptyReply("x"), (OSError, TimeoutError, ValueError)),
        (GarbledReply("x"), (OSError, ValueError)),
        (ChecksumError("x"), (OSError, ValueError)),
        (UnknownCode("x"), (OSError, ValueError, KeyError)),
        (InstrumentReportedError("160"), (OSError, ValueError)),
        (NoValue(Reading(None, Status.SENSOR_OFF)), (OSError, ValueError)),
        (PortGone("x"), (OSError,)),
    ],
)
def test_driver_errors_are_what_old_scripts_catch(error, builtins) -> None:
    """``except (IOError, ValueError)``, ``except TimeoutError`` and ``except KeyError``
    in PyExpLabSys's scripts catch the errors that its drivers raised there."""
    assert isinstance(error, InstrumentError)
    assert isinstance(error, builtins)
    with pytest.raises(builtins):
        raise error


def test_error_messages_and_attributes_survive_the_builtin_bases() -> None:
    timeout = InstrumentTimeout("no reply within 1 s", b"+02")
    assert (str(timeout), timeout.partial, timeout.errno) == ("no reply within 1 s", b"+02", None)
    assert str(UnknownCode("unknown gauge id", "XYZ")) == "unknown gauge id: 'XYZ'"
    refused = InstrumentReportedError("160", "command error", b"@253NAK160;FF")
    assert (str(refused), refused.code) == ("instrument reported error 160 (command error)", "160")
    assert not isinstance(PortGone("x"), ValueError) and not isinstance(timeout, ValueError)


def test_a_timeout_is_not_taken_for_a_vanished_port() -> None:
    """Driver errors are OSErrors now; the port-error handlers must let them through."""
    with expected_protocol(Polyscience4100, [(RT, b"")], timeout=0.05) as chiller:
        with pytest.raises(InstrumentTimeout) as info:
            chiller.read_temperature_reading()
        assert not isinstance(info.value, PortGone) and chiller.serial.is_open


# --------------------------------------------------------------------------- bad-path helpers
def test_absent_after_gives_up_on_a_silent_unit_early() -> None:
    with expected_protocol(Polyscience4100, [(RT, b"")], timeout=5.0) as chiller:
        start = time.monotonic()
        with chiller.absent_after(0.05), pytest.raises(InstrumentTimeout):
            chiller.read_temperature_reading()
        assert time.monotonic() - start < 1.0
        assert chiller._absent_after is None  # restored after the block


def test_absent_after_lets_a_unit_that_began_to_answer_finish() -> None:
    """A reply whose first byte came in time gets the full time-out (here: it never ends)."""
    with expected_protocol(Polyscience4100, [(RT, b"+02")], timeout=0.3) as chiller:
        start = time.monotonic()
        with chiller.absent_after(0.02), pytest.raises(InstrumentTimeout):
            chiller.read_temperature_reading()
        assert time.monotonic() - start >= 0.25


@pytest.mark.parametrize(
    ("answer", "text"),
    [(b"+023.4\r", "+023.4\r"), (b"?\r", "?\r"), (b"", ""), (b"+02", "+02"), (b"x#y\r", "x#y\r")],
)
def test_reply_text_is_the_whole_reply_whatever_it_says(answer, text) -> None:
    with expected_protocol(Polyscience4100, [(RT, answer)], timeout=0.05) as chiller:
        assert chiller.reply_text("RT") == text


def test_reply_text_raises_value_error_on_bytes_that_are_not_text() -> None:
    with expected_protocol(Polyscience4100, [(RT, b"\xff\r")], timeout=0.05) as chiller:
        with pytest.raises(ValueError):
            chiller.reply_text("RT")


def test_or_sentinel_retries_garbage_but_not_silence() -> None:
    from PyExpLabSys.drivers.upstream import or_sentinel

    pairs = [(RT, b"#\r"), (RT, b"?\r"), (RT, b"+023.4\r"), (RT, b""), (RT, b"#\r")]
    with expected_protocol(Polyscience4100, pairs, timeout=0.05) as chiller:

        def read() -> float:
            return chiller.read_temperature_reading().value

        assert or_sentinel(chiller.read_temperature_reading, None, "RT", attempts=3) == Reading(23.4)
        assert or_sentinel(read, -1.0, "RT", attempts=3) == -1.0  # silent: at once
        assert or_sentinel(read, -1.0, "RT", attempts=1) == -1.0  # garbled, no tries left
