"""The strict YAML dialect of every file faas-gitops reads from a commit.

PyYAML's safe loader (YAML 1.1 scalars: ``yes`` is a boolean, ``1_000`` an integer), minus
implicit timestamps: ``date: 2024-01-01`` stays the string a JSON ``config`` needs instead of
becoming a ``datetime`` that cannot be sent. Anchors, aliases and merge keys (``<<``) are refused
while composing, before anything is expanded (billion-laughs defence), and so are duplicate keys
(PyYAML would silently keep the last one), explicit tags other than ``!!str`` and nesting deeper
than ``MAX_DEPTH``. ``package.yaml`` and ``faas-gitops.yaml`` share it, so one rule set is
tested and fuzzed once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

# Deeper YAML than this is not a manifest anyone writes by hand; refusing it early keeps the
# composer (recursive) far away from Python's recursion limit.
MAX_DEPTH = 64
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_UTF8_BOM = b"\xef\xbb\xbf"
# Explicit tags other than "!!str" are refused: PyYAML's constructors for the others (!!binary,
# !!timestamp, !!bool, !!set...) either build values JSON cannot carry or crash on odd input
# with whatever exception they like, and a manifest has no use for them.
_CORE_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset({None, "!", f"{_CORE_TAG}str"})


class _Refusal(yaml.MarkedYAMLError):
    """A YAML construct we refuse; carries the position like PyYAML's own errors."""


class _StrictComposition(Composer):
    """Composer overrides shared by the pure-Python and the libyaml-backed loader.

    Refusing while *composing* (not after loading) matters: an alias bomb is expanded by the
    constructor, so by the time a loaded value could be inspected the damage is done.
    """

    _depth = 0

    # Implicit timestamps removed: dates stay strings (see the module docstring).
    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[attr-defined]
        mark: Any = event.start_mark
        if isinstance(event, AliasEvent):
            raise _Refusal(None, None, "aliases ('*name') are not allowed in manifests", mark)
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise _Refusal(None, None, "anchors ('&name') are not allowed in manifests", mark)
        tag: Any = getattr(event, "tag", None)
        if tag not in _ALLOWED_TAGS:
            shown = "!!" + tag.removeprefix(_CORE_TAG) if tag.startswith(_CORE_TAG) else tag
            raise _Refusal(None, None, f"explicit tags ({shown!r}) are not allowed", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refusal(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        start_mark = self.peek_event().start_mark  # type: ignore[attr-defined]
        node = super().compose_mapping_node(anchor)
        seen: set[tuple[str, str]] = set()
        for key, _value in node.value:
            if key.tag == "tag:yaml.org,2002:merge":
                raise _Refusal(
                    None, None, "merge keys ('<<') are not allowed in manifests", key.start_mark
                )
            if isinstance(key, ScalarNode):
                identity = (key.tag, key.value)
                if identity in seen:
                    raise _Refusal(None, start_mark, f"duplicate key {key.value!r}", key.start_mark)
                seen.add(identity)
        return node


class StrictSafeLoader(_StrictComposition, yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases, anchors, merge keys and duplicate keys."""


_Loader: Callable[[str], Any] = StrictSafeLoader
if yaml.__with_libyaml__:  # pragma: no branch - libyaml ships in the PyYAML wheels
    from yaml._yaml import CParser

    class _StrictCLoader(_StrictComposition, CParser, SafeConstructor, Resolver):
        """The same rules with libyaml scanning: about 7x faster on a typical manifest.

        The C parser only produces events; composing (where the refusals live) stays in the
        Python ``Composer`` above it in the MRO, so both loaders refuse the same things.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _Loader = _StrictCLoader

    class _CComposedLoader(CParser, SafeConstructor, Resolver):
        """libyaml composing as well as scanning, for text that cannot hold what the strict
        composer refuses (see ``_composable_in_c``); the node tree is checked afterwards."""

        yaml_implicit_resolvers = _StrictComposition.yaml_implicit_resolvers

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _FastLoader: Callable[[str], Any] | None = _CComposedLoader
else:  # pragma: no cover
    _FastLoader = None


# The strict composer ``load_yaml`` uses when the fast path does not apply (tests compare).
STRICT_LOADER: Callable[[str], Any] = _Loader


def _composable_in_c(text: str) -> bool:
    """Whether libyaml may compose ``text`` itself: no anchor, alias or tag can occur (none of
    ``& * !`` appears), and the nesting is provably shallow (every level needs an indent, a
    ``-`` or a bracket), so its recursive composer stays far from any stack limit. Everything
    else, including every construct the strict composer refuses, takes the strict path."""
    if "&" in text or "*" in text or "!" in text:
        return False
    flow = text.count("[") + text.count("{")
    deepest = max(
        (len(line) - len(line.lstrip(" ")) + line.count("-") for line in text.splitlines()),
        default=0,
    )
    return flow + deepest + 2 < MAX_DEPTH


_STR_TAG = f"{_CORE_TAG}str"


class _NotPlain(Exception):
    """The fast path met something it leaves to the strict composer."""


_MERGE_TAG = f"{_CORE_TAG}merge"


def _construct(node: Node, constructor: SafeConstructor, depth: int = 1) -> Any:
    """The value of a finished node tree, with the strict composer's remaining rules: depth,
    merge keys, duplicate keys (anchors, aliases and tags cannot occur: ``_composable_in_c``).

    One plain recursion instead of PyYAML's generator-based constructor: strings (nearly
    every scalar of a manifest) are taken as they are, other scalars go to the safe
    constructor for their resolved tag, so values are exactly what ``get_single_data`` gives.
    """
    if depth > MAX_DEPTH:
        raise _Refusal(None, None, f"nested deeper than {MAX_DEPTH} levels", node.start_mark)
    if isinstance(node, ScalarNode):
        if node.tag == _STR_TAG:
            return node.value
        return constructor.construct_object(node, deep=True)
    if isinstance(node, SequenceNode):
        return [_construct(item, constructor, depth + 1) for item in node.value]
    if not isinstance(node, MappingNode):  # pragma: no cover - the three node kinds
        return constructor.construct_object(node, deep=True)
    mapping: dict[Any, Any] = {}
    seen: set[tuple[str, str]] = set()
    for key, value in node.value:
        if key.tag == _MERGE_TAG:
            raise _Refusal(
                None, None, "merge keys ('<<') are not allowed in manifests", key.start_mark
            )
        if not isinstance(key, ScalarNode):
            raise _NotPlain  # a list or mapping as a key: PyYAML's own rules and messages
        identity = (key.tag, key.value)
        if identity in seen:
            raise _Refusal(None, node.start_mark, f"duplicate key {key.value!r}", key.start_mark)
        seen.add(identity)
        built_key = _construct(key, constructor, depth + 1)
        mapping[built_key] = _construct(value, constructor, depth + 1)
    return mapping


def load_yaml(text: str, *, loader: Callable[[str], Any] | None = None) -> Any:
    """Load one YAML document with the strict rules; raises ``yaml.YAMLError`` or ValueError.

    A manifest as people write them (no ``& * !``, shallow) is composed by libyaml in C and
    checked afterwards: about 3x faster than composing in Python, which is what a cold read of
    10,000 manifests spent most of its CPU on. The result and the refusals are the same.
    """
    if loader is None and _FastLoader is not None and _composable_in_c(text):
        fast = _FastLoader(text)
        try:
            node = fast.get_single_node()
            return None if node is None else _construct(node, fast)
        except _NotPlain:
            pass
        finally:
            fast.dispose()
    instance = (loader or _Loader)(text)
    try:
        return instance.get_single_data()
    finally:
        instance.dispose()


def one_line(text: str) -> str:
    return " ".join(text.split())


def shown(value: str, limit: int = 60) -> str:
    """A value from a file or a flag, quoted, control characters escaped, cut short."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def decode_text(data: bytes) -> str:
    """UTF-8 text without a leading byte-order mark, or ValueError naming the bad byte."""
    skipped = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        return data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"is not valid UTF-8 (byte {exc.start + skipped}); save it as UTF-8"
        ) from None


def load_document(data: bytes) -> Any:
    """Decode and load one YAML file; ValueError with a one-line reason (no file name)."""
    text = decode_text(data)
    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        parts = (exc.context, exc.problem)
        problem = one_line("; ".join(part for part in parts if part) or "unreadable")
        raise ValueError(f"invalid YAML{where}: {problem}") from None
    except Exception as exc:  # noqa: BLE001 - PyYAML internals raise anything on odd input
        # The refusals above leave no known path here; this is the "one package fails alone"
        # promise holding even for a PyYAML quirk nobody has found yet.
        raise ValueError(f"invalid YAML: {one_line(str(exc))}") from None


def kind_of(value: Any) -> str:
    """How a YAML author would call the value they wrote."""
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "a mapping"),
        (bytes, "binary data"),
        ((set, frozenset), "a set"),
    )
    if value is None:
        return "null"
    for types, name in kinds:
        if isinstance(value, types):
            return name
    return type(value).__name__


__all__ = [
    "MAX_DEPTH",
    "STRICT_LOADER",
    "StrictSafeLoader",
    "decode_text",
    "kind_of",
    "load_document",
    "load_yaml",
    "one_line",
    "shown",
]
