"""The layering contract of architecture.md is enforced: an upward import breaks the build."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "loyalty_site", "stores", "members", "notifications", "tiers", "vouchers", "memberships", "campaigns", "pos",
    "portal", "reports", "backoffice", "webhooks",
]  # fmt: skip
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_project(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin"},
    )


def test_the_project_keeps_its_layers(tmp_path):
    result = _lint(_copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    project = _copy_project(tmp_path)
    (project / "members" / "upward.py").write_text("import pos.checkout  # members must not know pos\n")
    result = _lint(project)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "members.upward -> pos.checkout" in result.stdout


def test_pos_importing_the_top_floor_breaks_the_contract(tmp_path):
    project = _copy_project(tmp_path)
    (project / "pos" / "upward.py").write_text("import backoffice.roles  # the roles live above pos\n")
    result = _lint(project)
    assert result.returncode != 0
    assert "pos.upward -> backoffice.roles" in result.stdout


def test_an_admin_page_in_pos_breaks_the_second_contract(tmp_path):
    project = _copy_project(tmp_path)
    (project / "pos" / "admin.py").write_text("from members.admin import MemberAdmin  # composed in backoffice\n")
    result = _lint(project)
    assert result.returncode != 0
    assert "3 kept, 1 broken" in result.stdout and "pos.admin -> members.admin" in result.stdout
