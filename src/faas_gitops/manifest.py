"""Old home of the ``package.yaml`` schema, now in ``faas_gitops.source``; re-exports only."""

from __future__ import annotations

from faas_gitops.models import FUNCTION_TYPES, LANGUAGES
from faas_gitops.source.limits import Limits
from faas_gitops.source.manifest import (
    MANIFEST_NAME,
    FunctionManifest,
    PackageManifest,
    normalise_code_path,
    parse_manifest,
)
from faas_gitops.source.package_reader import build_package, code_too_large, decode_code
from faas_gitops.source.yaml_loader import MAX_DEPTH, StrictSafeLoader, decode_text, load_yaml

__all__ = [
    "FUNCTION_TYPES",
    "LANGUAGES",
    "MANIFEST_NAME",
    "MAX_DEPTH",
    "FunctionManifest",
    "Limits",
    "PackageManifest",
    "StrictSafeLoader",
    "build_package",
    "code_too_large",
    "decode_code",
    "decode_text",
    "load_yaml",
    "normalise_code_path",
    "parse_manifest",
]
