"""Links to a commit, made from the ``--commit-url`` template everywhere a commit is shown.

One function so the page, the notifications and the markdown output agree on the URL and on
what is refused: the template is checked once by the settings (http(s), one ``{sha}``), and a
commit id is put in only when it is a git object id, so nothing from outside can bend the URL.
"""

from __future__ import annotations

import re

#: What ``--commit-url`` must contain: the place the full commit id goes.
PLACEHOLDER = "{sha}"

_OBJECT_ID = re.compile(r"^[0-9a-f]{7,64}$")


def check_template(template: str) -> str:
    """Refuse a template that cannot make a link (the settings turn this into one line)."""
    if not re.match(r"^https?://[^\s/]+", template):
        raise ValueError(
            "must be an http(s) URL such as https://github.com/acme/functions/commit/{sha}"
        )
    if template.count(PLACEHOLDER) != 1:
        raise ValueError("must contain {sha} exactly once, where the commit id goes")
    return template


def commit_link(template: str | None, sha: str) -> str | None:
    """The commit's URL, or ``None`` without a template or for anything but a git object id."""
    if template is None or not _OBJECT_ID.match(sha):
        return None
    return template.replace(PLACEHOLDER, sha)
