"""The typed environment readers refuse bad values with ImproperlyConfigured."""
import pytest
from django.core.exceptions import ImproperlyConfigured

from litemaas import env


def test_env_bool_parses_and_refuses(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env.env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env.env_bool("X_FLAG")


def test_env_int_bounds(monkeypatch):
    monkeypatch.setenv("X_NUM", "5")
    assert env.env_int("X_NUM", 1, minimum=1, maximum=10) == 5
    monkeypatch.setenv("X_NUM", "50")
    with pytest.raises(ImproperlyConfigured, match="at most"):
        env.env_int("X_NUM", 1, maximum=10)
    monkeypatch.setenv("X_NUM", "five")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env.env_int("X_NUM", 1)


def test_env_secret_reads_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "s"
    secret_file.write_text("from-file\n")
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))
    assert env.env_secret("X_SECRET") == "from-file"
    monkeypatch.setenv("X_SECRET", "direct")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.env_secret("X_SECRET")


def test_env_list_and_decimal(monkeypatch):
    monkeypatch.setenv("X_LIST", " a, ,b ")
    assert env.env_list("X_LIST") == ["a", "b"]
    monkeypatch.setenv("X_DEC", "")
    assert env.env_decimal("X_DEC", None) is None
    monkeypatch.setenv("X_DEC", "-1")
    with pytest.raises(ImproperlyConfigured):
        env.env_decimal("X_DEC", None)
