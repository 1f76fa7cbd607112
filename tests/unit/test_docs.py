"""The docs against the code: the hyperparameter table, the README's length, relative links
(files and, for markdown targets, their #headings).

docs/search-space.md's hyperparameter table must list `sweep.space.hyperparameters.HYPERPARAMETERS` in
order, with each rule's default, and a meaning that starts with the rule's `doc` string (the
docs may explain further after it, never say something else). No TensorFlow is imported.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sweep.space.hyperparameters import HYPERPARAMETERS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SEARCH_SPACE = DOCS / "search-space.md"
README_MAX_LINES = 250

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
# [text](target) and ![alt](target), with an optional "title"; the target has no spaces.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _format_default(value: object) -> str:
    """A default as the docs write it: YAML spelling for bools, repr for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return repr(value)  # 10000, 0.001, 1.0, 0.0


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _unquote(cell: str) -> str:
    return cell[1:-1] if len(cell) >= 2 and cell[0] == cell[-1] == "`" else cell


def _hyperparameter_table() -> list[dict[str, str]]:
    """The rows of the markdown table whose header starts with `hyperparameter`."""
    lines = SEARCH_SPACE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and _cells(line)[0] == "hyperparameter":
            header = _cells(line)
            assert {"hyperparameter", "default", "meaning"} <= set(header), header
            rows = []
            for row in lines[i + 2:]:  # skip the |---| line
                if not row.startswith("|"):
                    break
                cells = _cells(row)
                assert len(cells) == len(header), f"{SEARCH_SPACE.name}: ragged row: {row}"
                rows.append(dict(zip(header, cells)))
            return rows
    pytest.fail(f"{SEARCH_SPACE}: no table with a 'hyperparameter' column")


def test_hyperparameter_table_names_match_config_in_order():
    names = [_unquote(r["hyperparameter"]) for r in _hyperparameter_table()]
    assert names == list(HYPERPARAMETERS)


@pytest.mark.parametrize("name", list(HYPERPARAMETERS))
def test_hyperparameter_default_and_meaning_match_config(name):
    rows = {_unquote(r["hyperparameter"]): r for r in _hyperparameter_table()}
    assert name in rows, f"{name} is missing from {SEARCH_SPACE.name}"
    rule = HYPERPARAMETERS[name]
    assert _unquote(rows[name]["default"]) == _format_default(rule.default)
    meaning = rows[name]["meaning"]
    assert meaning.startswith(rule.doc), (
        f"{name}: the meaning in {SEARCH_SPACE.name} must start with hyperparameters.py's doc "
        f"{rule.doc!r}; it reads {meaning!r}"
    )


def test_readme_is_a_short_landing_page():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines; move reference text to docs/"


def _markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _relative_links(path: Path) -> list[tuple[str, str]]:
    """(file, anchor) of each relative link; file "" is the page itself, anchor "" is none."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link
    links = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # http:, https:, mailto: ...
        file, _, anchor = target.partition("#")
        links.append((file, anchor))
    return links


def _anchors(path: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, -1 for repeats."""
    ids: set[str] = set()
    counts: dict[str, int] = {}
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            n = counts.get(slug, 0)
            counts[slug] = n + 1
            ids.add(slug if n == 0 else f"{slug}-{n}")
    return ids


def test_markdown_files_have_links():
    # Guards the link test against a pattern that silently matches nothing.
    assert _relative_links(README)
    assert "hyperparameters" in _anchors(SEARCH_SPACE)


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files(path):
    broken = []
    for file, anchor in _relative_links(path):
        target = (path.parent / file) if file else path
        if not target.exists():
            broken.append(f"{file} (no such file)")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{file}#{anchor} (no such heading)")
    assert not broken, f"{path.relative_to(ROOT)}: broken links: {broken}"


def test_every_tuner_key_is_in_the_keys_table():
    import dataclasses

    from sweep.space.config import TunerConfig

    text = (ROOT / "docs" / "search-space.md").read_text()
    for f in dataclasses.fields(TunerConfig):
        assert f"| `tuner.{f.name}` |" in text, f.name
