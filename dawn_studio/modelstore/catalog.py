"""The machine-readable list of model files (``dawn_studio/data/catalog.json``): what each file is, which
feature needs it, where to get it and how to check it. Loaded once, validated, then immutable."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..data import catalog_path
from .errors import CatalogError, UnknownModelError

CATALOG_FORMAT = 1
CATALOG_ENV = "DAWN_STUDIO_CATALOG"
ORIGIN_KINDS = ("huggingface", "url")


@dataclass(frozen=True)
class Licence:
    id: str
    name: str
    url: str
    text: str


@dataclass(frozen=True)
class Origin:
    """A place files come from: a Hugging Face repository or a plain HTTPS base URL."""

    id: str
    kind: str
    repo_id: str | None = None
    revision: str = "main"
    endpoint: str | None = None  # None: huggingface_hub's default (HF_ENDPOINT or huggingface.co)
    base_url: str | None = None
    verified: str = ""


@dataclass(frozen=True)
class SourceRef:
    """One way to fetch a file: a path inside an origin, or a full URL (user overrides)."""

    origin: str | None
    path: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class CatalogFile:
    id: str
    path: str  # relative POSIX path inside the store (the reference's pretrain_models layout)
    title: str
    purpose: str
    licence: str
    sources: tuple[SourceRef, ...]
    size: int | None
    sha256: str | None
    checksum_note: str
    match: tuple[str, ...]  # path-suffix patterns that recognise this file in an import
    #: The size the publisher's page states, rounded (e.g. "599 MB"): shown before a download so the
    #: total is known; never used to check a file (``size`` is exact and checked).
    approx_size: int | None = None

    @property
    def shown_size(self) -> tuple[int | None, bool]:
        """The size to show before anything is downloaded, and whether it is exact."""
        if self.size is not None:
            return self.size, True
        return self.approx_size, False

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class Feature:
    id: str
    title: str
    description: str
    files: tuple[str, ...]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    files: tuple[CatalogFile, ...]
    features: tuple[Feature, ...]
    origins: dict[str, Origin]
    licences: dict[str, Licence]
    source_path: Path | None = None
    _by_id: dict[str, CatalogFile] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({f.id: f for f in self.files})

    def file(self, file_id: str) -> CatalogFile:
        try:
            return self._by_id[file_id]
        except KeyError:
            raise UnknownModelError(f"No model file called '{file_id}' in the catalog.") from None

    def feature(self, feature_id: str) -> Feature:
        for feature in self.features:
            if feature.id == feature_id:
                return feature
        known = ", ".join(f.id for f in self.features)
        raise UnknownModelError(f"No feature called '{feature_id}'. Features: {known}.")

    def offered_features(self) -> tuple[Feature, ...]:
        """Features a person would download on their own (a video size, face enhancement): those that
        need files and that no other feature requires (portrait analysis is only part of a video size)."""
        required = {r for feature in self.features for r in feature.requires}
        return tuple(f for f in self.features if f.files and f.id not in required)

    def files_of_feature(self, feature_id: str) -> tuple[CatalogFile, ...]:
        """All files a feature needs, its required features' files included, in catalog order."""
        wanted: set[str] = set()
        pending, seen = [feature_id], set()
        while pending:
            feature = self.feature(pending.pop())
            if feature.id in seen:
                continue
            seen.add(feature.id)
            wanted.update(feature.files)
            pending.extend(feature.requires)
        return tuple(f for f in self.files if f.id in wanted)

    def expand(self, names: list[str] | tuple[str, ...]) -> tuple[CatalogFile, ...]:
        """File ids and feature ids (as typed by a user) → the files they stand for, without duplicates."""
        wanted: set[str] = set()
        for name in names:
            if name in self._by_id:
                wanted.add(name)
            elif any(feature.id == name for feature in self.features):
                wanted.update(f.id for f in self.files_of_feature(name))
            else:
                raise UnknownModelError(
                    f"'{name}' is neither a model file nor a feature. Files: {', '.join(self._by_id)}; "
                    f"features: {', '.join(f.id for f in self.features)}."
                )
        return tuple(f for f in self.files if f.id in wanted)


def default_catalog_path() -> Path:
    """``$DAWN_STUDIO_CATALOG``, else the catalog shipped inside the package (``dawn_studio/data``)."""
    env = os.environ.get(CATALOG_ENV)
    if env:
        return Path(env).expanduser()
    return catalog_path()


def load_catalog(path: Path | None = None) -> Catalog:
    path = path or default_catalog_path()
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(
            f"The model catalog {path} is missing. Reinstall DAWN Studio, or point ${CATALOG_ENV} at a "
            "catalog.json."
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"The model catalog {path} cannot be read: {exc}") from None
    return parse_catalog(raw, source_path=Path(path))


def _require(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = entry.get(key)
    if not isinstance(value, kind):
        raise CatalogError(f"catalog: {where} needs '{key}' ({kind.__name__}), found {value!r}")
    return value


def _checked_path(path: str, where: str, what: str = "store path") -> str:
    """Paths in the catalog (store paths, source paths, import patterns) must stay inside their folder:
    relative, no '..', no backslashes, no drive letters."""
    pure = PurePosixPath(path)
    if (not path or "\\" in path or pure.is_absolute() or ".." in pure.parts or path != str(pure)
            or ":" in pure.parts[0]):
        raise CatalogError(f"catalog: {where} has an unsafe {what} {path!r}")
    return path


def parse_catalog(raw: Any, source_path: Path | None = None) -> Catalog:
    if not isinstance(raw, dict) or raw.get("format") != CATALOG_FORMAT:
        raise CatalogError(f"catalog: expected a JSON object with \"format\": {CATALOG_FORMAT}")
    licences = {}
    for lid, entry in _require(raw, "licences", dict, "the catalog").items():
        where = f"licence {lid}"
        licences[lid] = Licence(lid, _require(entry, "name", str, where), str(entry.get("url", "")),
                                _require(entry, "text", str, where))
    origins = {}
    for oid, entry in _require(raw, "origins", dict, "the catalog").items():
        origins[oid] = parse_origin(oid, entry)
    files = []
    for entry in _require(raw, "files", list, "the catalog"):
        fid = _require(entry, "id", str, "a file entry")
        where = f"file {fid}"
        sources = tuple(_parse_source(s, origins, where) for s in _require(entry, "sources", list, where))
        sha = entry.get("sha256")
        if sha is not None and (not isinstance(sha, str) or len(sha) != 64 or not _is_hex(sha)):
            raise CatalogError(f"catalog: {where} has a malformed sha256 {sha!r}")
        size = entry.get("size")
        if size is not None and (not isinstance(size, int) or size < 0):
            raise CatalogError(f"catalog: {where} has a malformed size {size!r}")
        approx = entry.get("approx_size")
        if approx is not None and (not isinstance(approx, int) or approx < 0):
            raise CatalogError(f"catalog: {where} has a malformed approx_size {approx!r}")
        path = _checked_path(_require(entry, "path", str, where), where)
        licence = _require(entry, "licence", str, where)
        if licence not in licences:
            raise CatalogError(f"catalog: {where} names an unknown licence {licence!r}")
        patterns = entry.get("match") or [PurePosixPath(path).name]
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise CatalogError(f"catalog: {where} needs 'match' as a list of path patterns")
        match = tuple(_checked_path(p, where, "import pattern") for p in patterns)
        files.append(CatalogFile(
            id=fid, path=path, title=_require(entry, "title", str, where),
            purpose=_require(entry, "purpose", str, where), licence=licence, sources=sources,
            size=size, sha256=sha.lower() if sha else None, checksum_note=str(entry.get("checksum_note", "")),
            match=match, approx_size=approx,
        ))
    ids = [f.id for f in files]
    if len(set(ids)) != len(ids) or len({f.path for f in files}) != len(files):
        raise CatalogError("catalog: file ids and store paths must be unique")
    features = []
    for entry in _require(raw, "features", list, "the catalog"):
        fid = _require(entry, "id", str, "a feature entry")
        where = f"feature {fid}"
        feature = Feature(fid, _require(entry, "title", str, where), str(entry.get("description", "")),
                          tuple(_require(entry, "files", list, where)), tuple(entry.get("requires", ())))
        unknown = [f for f in feature.files if f not in ids]
        if unknown:
            raise CatalogError(f"catalog: {where} lists unknown files {unknown}")
        features.append(feature)
    feature_ids = {f.id for f in features}
    for feature in features:
        if not set(feature.requires) <= feature_ids:
            raise CatalogError(f"catalog: feature {feature.id} requires unknown features {feature.requires}")
    return Catalog(tuple(files), tuple(features), origins, licences, source_path)


def parse_origin(oid: str, entry: Any) -> Origin:
    where = f"origin {oid}"
    if not isinstance(entry, dict):
        raise CatalogError(f"catalog: {where} must be an object")
    kind = _require(entry, "kind", str, where)
    if kind not in ORIGIN_KINDS:
        raise CatalogError(f"catalog: {where} has unknown kind {kind!r} (one of {', '.join(ORIGIN_KINDS)})")
    if kind == "huggingface":
        _require(entry, "repo_id", str, where)
    else:
        _require(entry, "base_url", str, where)
    return Origin(id=oid, kind=kind, repo_id=entry.get("repo_id"),
                  revision=str(entry.get("revision") or "main"),
                  endpoint=entry.get("endpoint"), base_url=entry.get("base_url"),
                  verified=str(entry.get("verified", "")))


def _parse_source(entry: Any, origins: dict[str, Origin], where: str) -> SourceRef:
    if not isinstance(entry, dict):
        raise CatalogError(f"catalog: {where} has a malformed source {entry!r}")
    if entry.get("url"):
        return SourceRef(origin=None, url=str(entry["url"]))
    origin = _require(entry, "origin", str, where)
    if origin not in origins:
        raise CatalogError(f"catalog: {where} names an unknown origin {origin!r}")
    return SourceRef(origin=origin, path=_checked_path(_require(entry, "path", str, where), where, "source path"))


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)
