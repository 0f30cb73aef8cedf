"""One package out of a commit: its ``package.yaml`` and the code files it names, nothing else.

Everything is read from git objects, never from the working tree: what is synced is exactly
what was committed, and a half-edited checkout cannot leak into production. Only regular files
are read; a symbolic link or a submodule where a manifest or code file should be fails the
package with a line saying so, because following either would read outside the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from faas_gitops.errors import ManifestError
from faas_gitops.models import DesiredPackage, FunctionSpec, PackageFailure, PackageRef
from faas_gitops.source.limits import DEFAULT_LIMITS, SizeLimits
from faas_gitops.source.manifest import MANIFEST_NAME, PackageManifest, parse_manifest
from faas_gitops.source.tree import (
    GITLINK,
    REGULAR,
    SYMLINK,
    TREE,
    Entries,
    ObjectReader,
    kind,
)
from faas_gitops.source.yaml_loader import decode_text, one_line


def join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory and directory != "." else name


def decode_code(data: bytes, file: str, *, limits: SizeLimits = DEFAULT_LIMITS) -> str:
    """Function code as text, or ValueError saying why it cannot be (size, binary, encoding)."""
    if len(data) > limits.max_code_bytes:
        raise ValueError(code_too_large(file, len(data), limits))
    if b"\x00" in data:
        raise ValueError(
            f"{file!r} looks binary (it contains a NUL byte); function code must be UTF-8 text"
        )
    try:
        return decode_text(data)
    except ValueError as exc:
        raise ValueError(f"{file!r} {exc}") from None


def code_too_large(file: str, size: int, limits: SizeLimits) -> str:
    """The message for a code file over ``max_code_bytes`` (shared with ``source``)."""
    return (
        f"{file!r} is {size} bytes, over the {limits.max_code_bytes}-byte limit for "
        "function code; shrink it (or raise --max-code-bytes)"
    )


def build_package(
    manifest: PackageManifest,
    *,
    path: str,
    manifest_file: str,
    read_file: Callable[[str], bytes],
    tree_id: str = "",
    limits: SizeLimits = DEFAULT_LIMITS,
) -> DesiredPackage:
    """Read each function's code through ``read_file`` and assemble the ``DesiredPackage``.

    ``read_file`` receives the normalised package-relative path and returns bytes or raises
    ``ManifestError``; its message is re-attributed to ``manifest_file`` and the function's
    ``file`` field so the person sees which manifest line points at the problem. Functions keep
    manifest order; a missing ``sortOrder`` becomes the function's position.
    """
    functions: list[FunctionSpec] = []
    for index, function in enumerate(manifest.functions):
        field = f"functions[{index}].file"
        try:
            data = read_file(function.file)
            code = decode_code(data, function.file, limits=limits)
        except ManifestError as exc:
            raise ManifestError(manifest_file, field, exc.message) from None
        except (ValueError, OSError) as exc:
            raise ManifestError(manifest_file, field, one_line(str(exc))) from None
        functions.append(
            FunctionSpec(
                name=function.name,
                type=function.type,
                code=code,
                language=function.language,
                sort_order=index if function.sort_order is None else function.sort_order,
                config=dict(function.config),
            )
        )
    return DesiredPackage(
        path=path,
        package_id=manifest.package_id,
        name=manifest.name,
        description=manifest.description,
        functions=tuple(functions),
        tree_id=tree_id,
        environments=None if manifest.environments is None else tuple(manifest.environments),
        pins=tuple(sorted(manifest.pin.items())),
    )


def read_packages(
    objects: ObjectReader, refs: Sequence[PackageRef], limits: SizeLimits
) -> list[DesiredPackage | PackageFailure]:
    """Each package ``refs`` names, in order, or the reason it cannot be read.

    Two pipelined git round trips for the whole chunk: every manifest, then every code file
    the parsed manifests name. The per-package logic (and every error message) is the one of a
    single read; the batches only make its ``blob()`` calls dictionary lookups.
    """
    readers = [_PackageFiles(objects, ref, limits) for ref in refs]
    try:
        objects.prefetch_blobs(
            [sha for reader in readers if (sha := reader.manifest_sha())],
            limit=limits.max_manifest_bytes,
        )
        parsed = [_parse(reader, ref, limits) for reader, ref in zip(readers, refs, strict=True)]
        objects.prefetch_blobs(
            [
                sha
                for reader, manifest in zip(readers, parsed, strict=True)
                if isinstance(manifest, PackageManifest)
                for sha in reader.code_shas(manifest)
            ],
            limit=limits.max_code_bytes,
        )
        return [
            _build(reader, ref, manifest, limits) if isinstance(manifest, PackageManifest)
            else manifest
            for reader, ref, manifest in zip(readers, refs, parsed, strict=True)
        ]  # fmt: skip
    finally:
        objects.forget_prefetched()


def read_package(
    objects: ObjectReader, ref: PackageRef, limits: SizeLimits
) -> DesiredPackage | PackageFailure:
    """The package ``ref`` names, or the one-line (or one-per-problem) reason it cannot be."""
    return read_packages(objects, [ref], limits)[0]


def _parse(
    reader: _PackageFiles, ref: PackageRef, limits: SizeLimits
) -> PackageManifest | PackageFailure:
    manifest_file = join(ref.path, MANIFEST_NAME)
    manifest: PackageManifest | None = None
    try:
        manifest = parse_manifest(reader.manifest(manifest_file), manifest_file, limits=limits)
        if ref.nested_in is None:
            return manifest
        error = str(_nested(manifest_file, ref.nested_in))
    except ManifestError as exc:
        # Inside another package the nesting is the first thing to fix, whatever else is
        # wrong with the inner manifest.
        error = str(exc if ref.nested_in is None else _nested(manifest_file, ref.nested_in))
    return PackageFailure(
        path=ref.path,
        error=error,
        package_id=manifest.package_id if manifest is not None else None,
    )


def _build(
    reader: _PackageFiles, ref: PackageRef, manifest: PackageManifest, limits: SizeLimits
) -> DesiredPackage | PackageFailure:
    manifest_file = join(ref.path, MANIFEST_NAME)
    try:
        return build_package(
            manifest,
            path=ref.path,
            manifest_file=manifest_file,
            read_file=reader.code,
            tree_id=ref.tree_id,
            limits=limits,
        )
    except ManifestError as exc:
        return PackageFailure(path=ref.path, error=str(exc), package_id=manifest.package_id)


class _PackageFiles:
    """The files of one package directory, read from its tree."""

    def __init__(self, objects: ObjectReader, ref: PackageRef, limits: SizeLimits) -> None:
        self._objects = objects
        self._entries = objects.entries(bytes.fromhex(ref.tree_id))
        self._short = ref.commit[:12]
        self._limits = limits

    def manifest(self, manifest_file: str) -> bytes:
        limit = self._limits.max_manifest_bytes
        return self._regular(
            self._entries,
            MANIFEST_NAME,
            shown=manifest_file,
            report_as=manifest_file,
            limit=limit,
            too_large=lambda size: ManifestError(
                manifest_file,
                None,
                f"is {size} bytes, over the {limit}-byte manifest limit; a manifest only "
                "lists functions, keep code in the files it names",
            ),
        )

    def manifest_sha(self) -> bytes | None:
        """The manifest's blob id when it is a regular file (else ``manifest()`` explains)."""
        entry = self._entries.get(MANIFEST_NAME)
        return entry[1] if entry is not None and kind(entry[0]) == REGULAR else None

    def code_shas(self, manifest: PackageManifest) -> list[bytes]:
        """Blob ids of the code files ``manifest`` names that resolve to regular files; the
        others are left for ``code()`` to explain."""
        found: list[bytes] = []
        for function in manifest.functions:
            try:
                entries, name = self._directory_of(function.file)
            except ManifestError:
                continue
            entry = entries.get(name)
            if entry is not None and kind(entry[0]) == REGULAR:
                found.append(entry[1])
        return found

    def code(self, relative: str) -> bytes:
        """A code file by package-relative path; ManifestError (message only) if unusable."""
        entries, name = self._directory_of(relative)
        return self._regular(
            entries,
            name,
            shown=relative,
            report_as="",
            limit=self._limits.max_code_bytes,
            too_large=lambda size: ManifestError(
                "", None, code_too_large(relative, size, self._limits)
            ),
        )

    def _directory_of(self, relative: str) -> tuple[Entries, str]:
        """The entries of the directory holding ``relative``, and its last name."""
        parts = relative.split("/")
        entries = self._entries
        for depth, part in enumerate(parts[:-1]):
            shown = "/".join(parts[: depth + 1])
            entry = entries.get(part)
            if entry is None or kind(entry[0]) != TREE:
                if entry is not None and kind(entry[0]) in (SYMLINK, GITLINK):
                    raise ManifestError("", None, _not_regular(shown, entry[0]))
                raise ManifestError(
                    "",
                    None,
                    f"{relative!r} does not exist in commit {self._short}; add it or fix the path",
                )
            entries = self._objects.entries(entry[1])
        return entries, parts[-1]

    def _regular(
        self,
        entries: Entries,
        name: str,
        *,
        shown: str,
        report_as: str,
        limit: int,
        too_large: Callable[[int], ManifestError],
    ) -> bytes:
        """The blob ``name`` in ``entries`` if it is a regular file; ManifestError otherwise.

        ``report_as`` is the ``ManifestError.file`` (empty when ``build_package`` re-attributes
        the message to the manifest field that named the file).
        """
        entry = entries.get(name)
        # A manifest is shown by its own path (the error already names the file); a code file
        # is quoted, because the error names the manifest and the field that points at it.
        quoted = "" if report_as else f"{shown!r} "
        if entry is None:
            raise ManifestError(
                report_as,
                None,
                f"{quoted}does not exist in commit {self._short}; add it or fix the path",
            )
        mode, sha = entry
        if kind(mode) == TREE:
            raise ManifestError(report_as, None, f"{quoted}is a directory; name a regular file")
        if kind(mode) in (SYMLINK, GITLINK):
            raise ManifestError(report_as, None, _not_regular(shown if quoted else "", mode))
        return self._objects.blob(sha, limit=limit, too_large=too_large)


def _nested(manifest_file: str, outer: str) -> ManifestError:
    return ManifestError(
        manifest_file,
        None,
        f"package inside package {outer!r}; move it out or remove its package.yaml",
    )


def _not_regular(shown: str, mode: int) -> str:
    what = "a symbolic link" if kind(mode) == SYMLINK else "a submodule"
    subject = f"{shown!r} is" if shown else "is"
    return f"{subject} {what}; faas-gitops reads only regular files"


__all__ = [
    "build_package",
    "code_too_large",
    "decode_code",
    "join",
    "read_package",
    "read_packages",
]
