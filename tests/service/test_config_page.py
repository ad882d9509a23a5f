"""The configuration of the live page: ``[service] http`` and the health limits, and
the channels' ``unit``; each mistake names the file and the key."""

from __future__ import annotations

import pytest

from PyExpLabSys.service.config import ConfigError, load_config, parse_http_address

from .test_config import GOOD


def _load(tmp_path, service: str, channel: str = ""):
    path = tmp_path / "setup.toml"
    text = GOOD.replace("threshold = 0.05\n", f"threshold = 0.05\n{channel}\n", 1)
    path.write_text(f"[service]\n{service}\n{text}")
    return path, load_config(path)


def test_http_address_forms():
    assert parse_http_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_http_address("8080") == ("127.0.0.1", 8080)  # bare port: loopback
    assert parse_http_address("[::1]:0") == ("::1", 0)
    assert parse_http_address("localhost:9000") == ("localhost", 9000)
    for bad in ("", ":80", "127.0.0.1:", "host:http", "127.0.0.1:70000"):
        with pytest.raises(ValueError, match=r"must (be 'host:port'|end in a TCP port)"):
            parse_http_address(bad)


def test_service_http_health_limits_and_unit(tmp_path):
    _, config = _load(
        tmp_path, 'http = "127.0.0.1:0"\nhealth_max_waiting = 60\nhealth_max_silence = 30.5', 'unit = "mbar"'
    )
    assert config.service.http == ("127.0.0.1", 0)
    assert (config.service.health_max_waiting, config.service.health_max_silence) == (60.0, 30.5)
    assert next(config.channels).unit == "mbar" and config.warnings == ()
    _, default = _load(tmp_path, "")
    assert default.service.http is None and next(default.channels).unit is None


def test_another_address_only_when_written_out_with_a_warning(tmp_path):
    _, config = _load(tmp_path, 'http = "0.0.0.0:8080"')
    assert config.service.http == ("0.0.0.0", 8080)
    assert any(w.startswith("service.http: the page is served on 0.0.0.0") for w in config.warnings)


@pytest.mark.parametrize(
    ("service", "channel", "message"),
    [
        ('http = "127.0.0.1:99999"', "", "service.http: must end in a TCP port 0..65535"),
        ("http = 8080", "", "service.http: must be a string, not an integer 8080"),
        ("health_max_waiting = 0", "", "service.health_max_waiting: must be > 0"),
        ("health_max_silence = -1", "", "service.health_max_silence: must be > 0"),
        ("htttp = '127.0.0.1:1'", "", "service.htttp: unknown key (did you mean 'http'?)"),
        ("", "unit = 5", "instruments[0].channels[0].unit: must be a string"),
    ],
)
def test_mistakes_name_the_key(tmp_path, service, channel, message):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, service, channel)
    assert f"setup.toml: {message}" in str(error.value)
