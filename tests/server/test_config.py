"""Configuration: the demo set, files, environment overrides and clear errors."""

from pathlib import Path

import pytest

from server.config import ConfigError, load, parse_fixed


def test_demo_configuration_has_several_symbols_with_different_ticks() -> None:
    settings = load(environ={})
    assert settings.grpc_port == 50051
    assert settings.data_dir == Path("./data")
    assert settings.durability == "batch"
    ticks = {instrument.symbol: instrument.tick_size for instrument in settings.instruments}
    assert len(ticks) >= 5
    assert len(set(ticks.values())) >= 3
    assert ticks["AAPL"] == 100


def test_environment_overrides_the_file() -> None:
    settings = load(environ={"STX_GRPC_PORT": "6000", "STX_DATA_DIR": "/tmp/x"})
    assert settings.grpc_port == 6000
    assert settings.data_dir == Path("/tmp/x")


def test_file_settings(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[server]\ngrpc_port = 7000\n[journal]\ndurability = "always"\n'
        '[[instruments]]\nsymbol = "X"\ntick_size = "0.05"\nreference_price = "10.00"\n'
        'price_band_percent = "2.5"\n'
    )
    settings = load(path, environ={})
    assert settings.grpc_port == 7000
    assert settings.durability == "always"
    (instrument,) = settings.instruments
    assert (instrument.tick_size, instrument.reference_price, instrument.price_band_bps) == (
        500,
        100_000,
        250,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\ngrpc_port = 70000\n", "not a TCP port"),
        ('[journal]\ndurability = "sometimes"\n', "durability"),
        ("[oops]\n", "unknown sections"),
        ('[[instruments]]\nsymbol = "X"\ntick_size = "0.00001"\n', "finer than"),
        ('[[instruments]]\nsymbol = "X"\ntick_size = 0.01\n', "decimal string"),
        ('[[instruments]]\nsymbol = "X"\ntick_size = "abc"\n', "not a decimal"),
        ('[[instruments]]\nsymbol = "X"\ntick_size = "0"\n', "invalid instrument"),
        ('[[instruments]]\nsymbol = "X"\ntick_size = "0.01"\ncolour = 1\n', "unknown keys"),
        (
            '[[instruments]]\nsymbol = "X"\ntick_size = "0.01"\n'
            '[[instruments]]\nsymbol = "X"\ntick_size = "0.01"\n',
            "duplicate",
        ),
        ("not toml = = =", "c.toml"),
    ],
)
def test_bad_configuration_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(path, environ={})


def test_missing_file_and_bad_environment() -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(Path("/nonexistent/stx.toml"), environ={})
    with pytest.raises(ConfigError, match="STX_GRPC_PORT"):
        load(environ={"STX_GRPC_PORT": "fifty"})


def test_fixed_point_parsing_is_exact() -> None:
    assert parse_fixed("190.05", "p") == 1_900_500
    assert parse_fixed("0.0001", "p") == 1
    assert parse_fixed(3, "p") == 30_000
    with pytest.raises(ConfigError):
        parse_fixed("1.00001", "p")
    with pytest.raises(ConfigError):
        parse_fixed("NaN", "p")


def test_the_store_is_chosen_by_file_or_environment(tmp_path: Path) -> None:
    assert load(environ={}).database_url == ""  # SQLite in the data directory
    url = "postgresql://stx@db.internal/stx"
    assert load(environ={"STX_DATABASE_URL": url}).database_url == url
    config = tmp_path / "stx.toml"
    config.write_text('[store]\ndatabase_url = "sqlite:////var/lib/stx/stx.db"\n')
    assert load(config, environ={}).database_url == "sqlite:////var/lib/stx/stx.db"
    with pytest.raises(ConfigError, match="database_url"):
        load(environ={"STX_DATABASE_URL": "mysql://x/y"})


def test_redis_is_chosen_by_file_or_environment(tmp_path: Path) -> None:
    assert load(environ={}).redis_url == ""  # in-process shared state
    assert load(environ={"STX_REDIS_URL": "redis://cache:6379/0"}).redis_url == (
        "redis://cache:6379/0"
    )
    config = tmp_path / "stx.toml"
    config.write_text('[store]\nredis_url = "redis://127.0.0.1:6380/1"\n')
    assert load(config, environ={}).redis_url == "redis://127.0.0.1:6380/1"
    config.write_text('[store]\nredis = "redis://x"\n')
    with pytest.raises(ConfigError, match="unknown keys"):
        load(config, environ={})
    with pytest.raises(ConfigError, match="redis_url"):
        load(environ={"STX_REDIS_URL": "http://cache"})
