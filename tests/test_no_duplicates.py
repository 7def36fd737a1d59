"""No block of 12 or more lines is repeated in the project's own code (issue 12): what two
places need is written once, in the lowest layer both can import (`loyalty_site.core` for the
admin, command, model and error helpers), or in a shared template.

The project's own code: every package at the top of the repository and the project-wide
`templates/`, as Python and HTML files, leaving out migrations, tests, benchmarks and the
virtualenv. Lines are compared with their surrounding white space stripped, blank lines and
whole-line comments left out. Plain Python, so it runs wherever the suite does."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK_LINES = 12
SUFFIXES = {".py", ".html"}
LEFT_OUT_DIRS = {"migrations", "tests", "bench", ".venv", "__pycache__", "node_modules"}

# Files other helpers of issue 12 are rewriting on their own branches (the POS admin, the ledger,
# spend, transactions, the notifications services, the bulk services, the import engine, the
# Member admin): a repeated block all of whose copies are in these files would be tolerated
# here until those branches are merged, then this list is emptied. None repeats a block today,
# so it stays empty: an entry is a repository-relative path, e.g. "pos/admin.py".
ALLOWED_WHILE_REWRITTEN: frozenset[str] = frozenset()

Place = tuple[str, int]  # (path relative to the root, first line number)


def _is_comment(line: str) -> bool:
    return line.startswith("#") or (line.startswith("{#") and line.endswith("#}"))


def code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of the lines that count."""
    counted = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line and not _is_comment(line):
            counted.append((number, line))
    return counted


def project_files(root: Path) -> list[Path]:
    tops = [p for p in sorted(root.iterdir()) if p.is_dir() and p.name not in LEFT_OUT_DIRS]
    tops = [p for p in tops if (p / "__init__.py").exists() or p.name == "templates"]
    files = []
    for top in tops:
        for path in sorted(top.rglob("*")):
            relative = path.relative_to(root)
            if path.suffix in SUFFIXES and path.is_file() and not LEFT_OUT_DIRS & set(relative.parts):
                files.append(path)
    return files


def repeated_blocks(root: Path, block_lines: int = BLOCK_LINES) -> list[list[Place]]:
    """Each run of `block_lines` counted lines found in more than one place, as the places
    (overlapping windows of one longer run are reported once per window start)."""
    places: dict[tuple[str, ...], list[Place]] = defaultdict(list)
    for path in project_files(root):
        lines = code_lines(path)
        relative = path.relative_to(root).as_posix()
        for start in range(len(lines) - block_lines + 1):
            window = tuple(text for _number, text in lines[start : start + block_lines])
            places[window].append((relative, lines[start][0]))
    repeated = []
    for found in places.values():
        if len(found) > 1 and not _overlapping_only(found, block_lines):
            repeated.append(found)
    return repeated


def _overlapping_only(found: list[Place], block_lines: int) -> bool:
    """A block of one file that 'repeats' only by overlapping itself (a run of equal lines)."""
    paths = {path for path, _line in found}
    if len(paths) > 1:
        return False
    starts = sorted(line for _path, line in found)
    return all(b - a < block_lines for a, b in pairwise(starts))


def _report(blocks: list[list[Place]]) -> str:
    # One line per repeated run: its first window's places, the longest runs first.
    runs: dict[tuple[str, ...], list[Place]] = {}
    for places in blocks:
        key = tuple(sorted(path for path, _line in places))
        if key not in runs or places < runs[key]:
            runs[key] = places
    return "\n".join(" ~ ".join(f"{path}:{line}" for path, line in places) for places in sorted(runs.values()))


# --- The project ------------------------------------------------------------------------------


def test_no_block_of_twelve_lines_is_repeated_in_the_project():
    blocks = [
        places for places in repeated_blocks(ROOT) if not all(path in ALLOWED_WHILE_REWRITTEN for path, _line in places)
    ]
    assert not blocks, "Repeated blocks of 12+ lines (write them once):\n" + _report(blocks)


def test_the_scan_reads_every_app_and_leaves_out_tests_migrations_and_benchmarks():
    scanned = {path.relative_to(ROOT).parts[0] for path in project_files(ROOT)}
    assert {"loyalty_site", "stores", "members", "notifications", "tiers", "vouchers", "campaigns", "pos"} <= scanned
    assert "templates" in scanned
    paths = [path.relative_to(ROOT).as_posix() for path in project_files(ROOT)]
    assert not [p for p in paths if "/migrations/" in p or p.startswith(("tests/", "bench/", ".venv/"))]
    assert "members/admin.py" in paths and "templates/admin/service_form_fields.html" in paths


def test_the_allow_list_names_only_files_that_exist():
    assert all((ROOT / path).is_file() for path in ALLOWED_WHILE_REWRITTEN)


# --- The check itself, on a made-up project ---------------------------------------------------


def _block(prefix: str, count: int = BLOCK_LINES) -> list[str]:
    return [f"{prefix}_{i} = compute({i})" for i in range(count)]


def _project(tmp_path: Path, files: dict[str, list[str]]) -> Path:
    for name, lines in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / Path(name).parts[0] / "__init__.py").touch()  # a package at the top
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_a_block_of_twelve_lines_in_two_apps_is_found(tmp_path):
    root = _project(tmp_path, {"shop/a.py": ["x = 1", *_block("v")], "till/b.py": [*_block("v"), "y = 2"]})
    assert repeated_blocks(root) == [[("shop/a.py", 2), ("till/b.py", 1)]]


def test_eleven_lines_are_not_a_block(tmp_path):
    root = _project(tmp_path, {"shop/a.py": _block("v", 11), "till/b.py": _block("v", 11)})
    assert repeated_blocks(root) == []


def test_indentation_blank_lines_and_comments_do_not_hide_a_copy(tmp_path):
    copy = ["    " + line for line in _block("v")]
    copy[3:3] = ["", "    # a comment added to the copy", ""]
    root = _project(tmp_path, {"shop/a.py": _block("v"), "shop/b.py": ["def f():", *copy]})
    assert repeated_blocks(root) == [[("shop/a.py", 1), ("shop/b.py", 2)]]


def test_a_copy_inside_one_file_is_found(tmp_path):
    root = _project(tmp_path, {"shop/a.py": [*_block("v"), "pass", *_block("v")]})
    assert repeated_blocks(root) == [[("shop/a.py", 1), ("shop/a.py", 14)]]


def test_html_templates_count_and_template_comments_do_not(tmp_path):
    lines = [f"<p>{{{{ field_{i} }}}}</p>" for i in range(BLOCK_LINES)]
    root = _project(
        tmp_path,
        {"shop/templates/a.html": lines, "templates/b.html": ["{# shared? #}", *lines]},
    )
    assert repeated_blocks(root) == [[("shop/templates/a.html", 1), ("templates/b.html", 2)]]


def test_migrations_tests_and_benchmarks_are_left_out(tmp_path):
    root = _project(
        tmp_path,
        {
            "shop/a.py": _block("v"),
            "shop/migrations/0001_initial.py": _block("v"),
            "tests/test_a.py": _block("v"),
            "bench/run.py": _block("v"),
        },
    )
    assert repeated_blocks(root) == []


def test_a_run_of_equal_lines_is_not_a_copy_of_itself(tmp_path):
    root = _project(tmp_path, {"shop/a.py": ["pass"] * (BLOCK_LINES + 5)})
    assert repeated_blocks(root) == []
