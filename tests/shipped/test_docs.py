"""The README is the front door and docs/ the house behind it: the README stays short, every
page of docs/ can be reached from it, and every relative link in either resolves to a file (and
heading) inside this repository, so a newcomer never follows a link into nothing or into a
checkout they do not have. Links to public web pages (http, https) are the only way out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
#: ``[text](target)`` and ``![alt](target "title")``; the text may hold a code span or brackets.
MD_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:id|name)\s*=\s*["']([^"']+)["']""")
PUBLIC = ("http://", "https://", "mailto:")


def markdown_files(root: Path = ROOT) -> list[Path]:
    """README.md and every markdown page under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def prose(text: str) -> str:
    """The text a reader sees as prose: no fenced blocks, HTML comments or code spans, whose
    bracket-and-paren look-alikes (``[x](y)`` in an example) are not links."""
    return CODE_SPAN.sub("", COMMENT.sub("", FENCE.sub("", text)))


def links(text: str) -> list[str]:
    """Every link target in a markdown page's prose, markdown and HTML alike."""
    body = prose(text)
    return MD_LINK.findall(body) + HTML_LINK.findall(body)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: inline markup dropped, lower case, punctuation other
    than ``-`` and ``_`` removed, each space a ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors a page offers: one per heading (duplicates numbered as GitHub numbers them)
    and every explicit ``<a id=...>``."""
    text = page.read_text(encoding="utf-8")
    found: set[str] = set(EXPLICIT_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", text)):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """Each link of ``page`` that leaves the repository or points at nothing, with why."""
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if target.startswith(PUBLIC):
            continue
        path_part, _, anchor = target.partition("#")
        if ":" in path_part:
            problems.append(f"{target}: not a relative link nor a public web page")
            continue
        resolved = (page.parent / path_part).resolve() if path_part else page.resolve()
        if not resolved.is_relative_to(root.resolve()):
            problems.append(f"{target}: leaves the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
            problems.append(f"{target}: no heading or anchor #{anchor} in {resolved.name}")
    return problems


def test_the_readme_is_at_most_250_lines() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_points_at_a_checkout_beside_this_one(page: Path) -> None:
    assert "../shared" not in page.read_text(encoding="utf-8")


def test_every_page_of_docs_is_linked_from_the_readme_or_the_docs_index() -> None:
    linked: set[Path] = set()
    for index in (README, DOCS / "README.md"):
        for target in links(index.read_text(encoding="utf-8")):
            if not target.startswith(PUBLIC):
                linked.add((index.parent / target.partition("#")[0]).resolve())
    unlinked = [
        str(page.relative_to(ROOT))
        for page in markdown_files()[1:]
        if page.resolve() not in linked and page != DOCS / "README.md"
    ]
    assert unlinked == []


def test_the_readme_shows_the_architecture_picture_with_alt_text() -> None:
    images = re.findall(r"!\[([^\]]+)\]\((docs/[^)]+\.svg)\)", prose(README.read_text()))
    assert images, "README.md shows no SVG picture from docs/ with alt text"
    for _alt, target in images:
        assert (ROOT / target).read_text(encoding="utf-8").lstrip().startswith("<svg")


def test_the_checker_finds_a_missing_file_a_missing_heading_and_a_link_out(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## The `--flag` table\n")
    (tmp_path / "README.md").write_text(
        "[ok](docs/page.md#the---flag-table) [self](#front) [web](https://example.com)\n"
        "[gone](docs/none.md) [bad anchor](docs/page.md#nowhere) [out](../shared/x.md)\n"
        "`[code](not/a/link.md)`\n<!-- [hidden](not/rendered.md) -->\n\n# Front\n"
    )

    problems = broken_links(tmp_path / "README.md", root=tmp_path)

    assert [p.split(":")[0] for p in problems] == [
        "docs/none.md",
        "docs/page.md#nowhere",
        "../shared/x.md",
    ]
