"""Commit links: one template, checked once, filled only with a git object id."""

from __future__ import annotations

import pytest

from faas_gitops.links import check_template, commit_link

TEMPLATE = "https://github.com/acme/functions/commit/{sha}"
SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def test_a_commit_id_fills_the_template() -> None:
    assert commit_link(TEMPLATE, SHA) == f"https://github.com/acme/functions/commit/{SHA}"


def test_no_template_means_no_link() -> None:
    assert commit_link(None, SHA) is None


@pytest.mark.parametrize("sha", ["HEAD", "main", "a1b2c3/../x", "", "A1B2C3D4"])
def test_anything_but_an_object_id_makes_no_link(sha: str) -> None:
    assert commit_link(TEMPLATE, sha) is None


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("ftp://example.com/{sha}", "http(s) URL"),
        ("https://example.com/commit/", "{sha} exactly once"),
        ("https://example.com/{sha}/{sha}", "{sha} exactly once"),
    ],
)
def test_a_template_that_cannot_make_a_link_is_refused(template: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_template(template)
