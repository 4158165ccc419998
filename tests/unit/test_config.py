import os

import pytest

from autograder.config import ConfigError, load


def test_precedence_cli_env_file_default(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.gmgrade]\ntimeout = 7\nmemory = 1000\n")
    for name in [n for n in os.environ if n.startswith("GMGRADE_")]:
        monkeypatch.delenv(name)  # e.g. CI's GMGRADE_TIMEOUT
    monkeypatch.setenv("GMGRADE_MEMORY", "2000")
    cfg = load({"jobs": "3"}, tmp_path)
    assert (cfg.jobs, cfg.timeout, cfg.memory, cfg.sandbox) == (3, 7.0, 2000, "auto")


@pytest.mark.parametrize("cli, text", [({"jobs": "0"}, "--jobs"), ({"device": "tpu"}, "one of")])
def test_invalid_values_name_their_source(cli, text, tmp_path):
    with pytest.raises(ConfigError, match=text):
        load(cli, tmp_path)


def test_unknown_file_key(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.gmgrade]\ntimeot = 7\n")
    with pytest.raises(ConfigError, match="unknown key 'timeot'"):
        load({}, tmp_path)


@pytest.mark.parametrize("key, raw, message", [("jobs", "x", "must be a whole number"),
                                                ("timeout", "soon", "must be a number of seconds"),
                                                ("memory", "0", "must be at least 1")])
def test_a_bad_value_says_what_is_expected(key, raw, message):
    with pytest.raises(ConfigError, match=f"--{key} = '{raw}': {message}"):
        load({key: raw}, None)
