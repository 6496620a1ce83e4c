"""The ``[relay]`` section, its variables and ``stx serve --source``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import main
from server.config import ConfigError, load


def test_the_relay_is_configured_by_file_or_environment(tmp_path: Path) -> None:
    config = tmp_path / "stx.toml"
    config.write_text('[relay]\nurl = "redis://logs:6379/1?stream=x"\nbatch = 200\n')
    settings = load(config, {})
    assert settings.relay.url == "redis://logs:6379/1?stream=x"
    assert settings.relay.batch == 200
    assert settings.relay.source == ""
    assert load(None, {}).relay.url == ""  # no log: no relay
    environ = {"STX_RELAY_URL": "redis://other/0", "STX_RELAY_SOURCE": "unix:///tmp/r.sock"}
    overridden = load(config, environ)
    assert overridden.relay.url == "redis://other/0"
    assert overridden.relay.source == "unix:///tmp/r.sock"
    assert overridden.relay.batch == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[relay]\nurl = "kafka://broker:9092"\n',
            "relay.url: 'kafka://broker:9092': expected",
        ),
        ("[relay]\nsource = 3\n", "relay.source: expected a URL"),
        ('[relay]\nurl = "redis://h/0?stream="\n', "stream= names no stream"),
        ("[relay]\nbatch = 0\n", "relay.batch: expected 1 to 10000 records"),
        ('[relay]\ntopic = "x"\n', r"relay: unknown keys \['topic'\]"),
    ],
)
def test_a_bad_relay_setting_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "stx.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(config, {})


def test_a_bad_relay_variable_names_it() -> None:
    with pytest.raises(ConfigError, match="STX_RELAY_BATCH: 'many' is not a number"):
        load(None, {"STX_RELAY_BATCH": "many"})
    with pytest.raises(ConfigError, match="STX_RELAY_URL: 'http://x': expected redis"):
        load(None, {"STX_RELAY_URL": "http://x"})


def test_only_a_consumer_alone_reads_the_log() -> None:
    runner = CliRunner()
    answer = runner.invoke(main, ["serve", "gateway", "--source", "redis://h/0"])
    assert answer.exit_code == 2
    assert "only projector and analytics read the committed log" in answer.output
    answer = runner.invoke(main, ["serve", "projector", "--source", "nats://h"])
    assert answer.exit_code == 2
    assert "expected redis://" in answer.output
