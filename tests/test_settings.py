"""The settings tree: TOML file, environment with CURATOR_ and __, and overrides, in that priority."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from curator.domain.decision import Action
from curator.settings import Settings


def example_toml() -> str:
    doc = Path("docs/configuration.md").read_text()
    return re.search(r"```toml\n(.*?)```", doc, re.S).group(1)  # type: ignore[union-attr]


def test_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "curator.toml"
    path.write_text(example_toml())
    s = Settings.load(path)
    assert s.server.host == "0.0.0.0"
    assert s.store_url.startswith("postgresql://")
    rule = s.default_policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"]
    assert (rule.threshold, rule.action, rule.review_threshold) == (0.85, Action.DROP, 0.7)


def test_env_beats_file_and_overrides_beat_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server]\nport = 1111\nmax_workers = 3\n")
    monkeypatch.setenv("CURATOR_SERVER__PORT", "2222")
    s = Settings.load(path)
    assert (s.server.port, s.server.max_workers) == (2222, 3)
    assert Settings.load(path, server={"port": 3333}).server.port == 3333


def test_default_store_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    s = Settings.load(data_dir=tmp_path)
    assert s.store_url == f"sqlite:///{tmp_path.resolve()}/curator.db"


def test_unknown_keys_and_missing_file_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server]\nprot = 1\n")
    with pytest.raises(ValidationError, match="prot"):
        Settings.load(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Settings.load(tmp_path / "missing.toml")
