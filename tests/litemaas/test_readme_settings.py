"""README.md stays honest: it starts with the two set-up commands and its settings table lists every setting.

The settings are found by parsing ``litemaas/settings.py`` (never importing it), so a new ``env_*`` call
fails this test until the README documents it.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SETTINGS = ROOT / "litemaas" / "settings.py"
# Folders whose code is not the portal's (or is the tests themselves).
SKIP_DIRS = {".venv", "venv", "node_modules", "tests", "migrations", ".git", "bench", "frontend", "static"}
NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")

SETUP_COMMANDS = ["bash scripts/demo.sh", "bash scripts/test.sh"]


def _settings_env_reads() -> tuple[dict[str, str], list[str]]:
    """Every environment variable ``litemaas/settings.py`` reads: {name: reader}, plus unreadable calls."""
    tree = ast.parse(SETTINGS.read_text(encoding="utf-8"), filename=str(SETTINGS))
    names: dict[str, str] = {}
    dynamic: list[str] = []
    for node in ast.walk(tree):
        reader = None
        key: ast.expr | None = None
        if isinstance(node, ast.Call):
            func = node.func
            func_name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if func_name.startswith("env_"):
                reader, key = func_name, node.args[0] if node.args else None
            elif ast.unparse(func) in {"os.getenv", "os.environ.get", "os.environ.setdefault", "environ.get"}:
                reader, key = ast.unparse(func), node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in {"os.environ", "environ"}:
            reader, key = "os.environ[]", node.slice
        if reader is None:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            # env_secret("X") reads X and X_FILE; the table lists X (marked †).
            names.setdefault(key.value, reader)
        else:
            dynamic.append(f"line {node.lineno}: {ast.unparse(node)}")
    return names, dynamic


def _assigned_settings() -> set[str]:
    tree = ast.parse(SETTINGS.read_text(encoding="utf-8"))
    assigned: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign | ast.AugAssign) else []
        assigned.update(t.id for t in targets if isinstance(t, ast.Name))
    return assigned


def _code_files() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if not SKIP_DIRS.intersection(p.relative_to(ROOT).parts[:-1])]


def _getattr_only_settings() -> dict[str, str]:
    """``getattr(settings, "NAME", default)`` reads of settings that settings.py never defines: {name: file}."""
    assigned = _assigned_settings()
    found: dict[str, str] = {}
    for path in _code_files():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                    and len(node.args) >= 2 and isinstance(node.args[0], ast.Name)
                    and node.args[0].id == "settings" and isinstance(node.args[1], ast.Constant)
                    and isinstance(node.args[1].value, str) and node.args[1].value not in assigned):
                found.setdefault(node.args[1].value, str(path.relative_to(ROOT)))
    return found


def _readme_table() -> dict[str, str]:
    """{name: first cell} for every row of the tables under "## Settings"."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Settings\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert match, 'README.md has no "## Settings" section followed by another "## " section'
    rows: dict[str, str] = {}
    for line in match.group(1).splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        first_cell = line.split("|")[1]
        for name in NAME.findall(first_cell):
            rows[name] = first_cell
    return rows


def test_readme_starts_with_the_two_setup_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# "), "README.md must start with its title"
    body = [line for line in lines[1:] if line.strip()]
    assert body[0] == "```bash", "the first thing after the title must be the ```bash block of set-up commands"
    end = body.index("```", 1)
    commands = [line.split("#", 1)[0].strip() for line in body[1:end]]
    assert commands == SETUP_COMMANDS


def test_every_setting_read_from_the_environment_is_in_the_readme_table():
    names, dynamic = _settings_env_reads()
    assert not dynamic, "settings.py reads variables whose names this test cannot see:\n" + "\n".join(dynamic)
    assert len(names) > 100, "the parser no longer finds settings.py's env_* calls"
    documented = _readme_table()
    missing = sorted(set(names) - set(documented))
    assert not missing, "settings missing from README.md's settings table:\n" + "\n".join(missing)


def test_secrets_that_accept_a_file_are_marked_with_a_dagger():
    names, _ = _settings_env_reads()
    documented = _readme_table()
    unmarked = sorted(n for n, reader in names.items() if reader == "env_secret" and "†" not in documented.get(n, "†"))
    assert not unmarked, "env_secret settings (they accept <NAME>_FILE) not marked † in README.md:\n" + "\n".join(
        unmarked
    )
    wrongly = sorted(n for n, cell in documented.items() if "†" in cell and names.get(n) != "env_secret")
    assert not wrongly, "marked † but not read with env_secret:\n" + "\n".join(wrongly)


def test_getattr_only_settings_are_documented_as_such():
    env_names, _ = _settings_env_reads()
    documented = _readme_table()
    missing = sorted(f"{name} ({where})" for name, where in _getattr_only_settings().items() if name not in documented)
    assert not missing, "getattr(settings, …) settings missing from README.md's settings table:\n" + "\n".join(missing)
    wrongly = sorted(n for n, cell in documented.items() if "‡" in cell and n in env_names)
    assert not wrongly, "marked ‡ (no environment variable) but settings.py reads them from the environment:\n" + (
        "\n".join(wrongly)
    )


def test_no_documented_setting_is_stale():
    code = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in _code_files())
    stale = sorted(name for name in _readme_table() if not re.search(rf"\b{name}\b", code))
    assert not stale, "README.md documents settings no code reads:\n" + "\n".join(stale)
