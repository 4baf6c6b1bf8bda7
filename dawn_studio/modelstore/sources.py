"""Where each file is fetched from: catalog origins (a Hugging Face repository through
``huggingface_hub``, or a plain HTTPS base URL), with the user's overrides (``sources.json`` in the
store, or ``--mirror`` on the command line) applied. Resolving asks the server for the file's size and
published checksum before anything is written."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .catalog import Catalog, CatalogFile, Origin, SourceRef, parse_origin
from .errors import CatalogError, DownloadError, OfflineError, SourceNotFoundError

OVERRIDES_NAME = "sources.json"
USER_AGENT = "dawn-studio-model-manager"


@dataclass(frozen=True)
class RemoteFile:
    """A resolved download: the URL to GET and what the server says the file must be."""

    url: str
    headers: dict[str, str]
    size: int | None
    sha256: str | None  # published SHA-256 (hub LFS/Xet ETag)
    git_blob: str | None  # hub ETag of small files stored in git
    label: str  # human description of the source, for messages
    identity: str  # changes when the remote file changes; a partial download resumes only if equal


class _RedirectsWithoutCredentials(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry an Authorization header to another host; a HEAD stays a HEAD
    (urllib turns it into a GET, which would start sending a release asset's whole body)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        other_host = urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc
        if new is not None and other_host:
            new.remove_header("Authorization")
        if new is not None and req.get_method() == "HEAD":
            new.method = "HEAD"
        return new


def open_url(request: urllib.request.Request, timeout: float):
    """``urlopen`` with the usual handlers (proxies from the environment) and safe redirects."""
    return urllib.request.build_opener(_RedirectsWithoutCredentials).open(request, timeout=timeout)


# overrides ---------------------------------------------------------------------------------
def load_overrides(store_root: Path) -> dict[str, Any]:
    """``sources.json`` in the store: ``{"origins": {id: {field: value}}, "files": {file_id: url}}``."""
    path = store_root / OVERRIDES_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"The source overrides in {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"The source overrides in {path} must be a JSON object")
    return data


def mirror_override(catalog: Catalog, spec: str) -> dict[str, Any]:
    """``ORIGIN=URL`` (command line) → an override: the hub endpoint or the base URL of that origin."""
    origin_id, sep, url = spec.partition("=")
    if not sep or not url:
        raise CatalogError(f"--mirror wants ORIGIN=URL, got {spec!r}")
    origin = catalog.origins.get(origin_id)
    if origin is None:
        raise CatalogError(f"No source called '{origin_id}'; sources: {', '.join(catalog.origins)}")
    key = "endpoint" if origin.kind == "huggingface" else "base_url"
    return {"origins": {origin_id: {key: url}}}


def apply_overrides(catalog: Catalog, overrides: dict[str, Any]) -> Catalog:
    """A catalog whose origins carry the overridden fields and whose files try override URLs first."""
    if not overrides:
        return catalog
    origins = dict(catalog.origins)
    for oid, fields in (overrides.get("origins") or {}).items():
        if oid not in origins or not isinstance(fields, dict):
            raise CatalogError(f"source override: unknown source '{oid}' (sources: {', '.join(origins)})")
        base = origins[oid]
        merged = {"kind": base.kind, "repo_id": base.repo_id, "revision": base.revision,
                  "endpoint": base.endpoint, "base_url": base.base_url, "verified": base.verified}
        merged.update(fields)
        origins[oid] = parse_origin(oid, merged)
    file_urls = overrides.get("files") or {}
    files = []
    for file in catalog.files:
        urls = file_urls.get(file.id)
        if urls:
            urls = [urls] if isinstance(urls, str) else list(urls)
            file = replace(file, sources=tuple(SourceRef(origin=None, url=u) for u in urls) + file.sources)
        files.append(file)
    unknown = set(file_urls) - {f.id for f in files}
    if unknown:
        raise CatalogError(f"source override: unknown files {sorted(unknown)}")
    return replace(catalog, files=tuple(files), origins=origins, _by_id={})


# resolving ---------------------------------------------------------------------------------
def describe_source(catalog: Catalog, ref: SourceRef) -> str:
    if ref.url:
        return ref.url
    origin = catalog.origins[ref.origin or ""]
    if origin.kind == "huggingface":
        where = origin.endpoint or "huggingface.co"
        return f"{where} {origin.repo_id} ({origin.revision}): {ref.path}"
    return _join(origin.base_url or "", ref.path or "")


def resolve(catalog: Catalog, file: CatalogFile, *, timeout: float = 10.0) -> RemoteFile:
    """Try the file's sources in order; a source that lacks the file is skipped, any other failure
    (offline, refused, server error) stops at once with its message."""
    not_found = []
    for ref in file.sources:
        try:
            if ref.url:
                return _resolve_url(ref.url, timeout)
            origin = catalog.origins[ref.origin or ""]
            if origin.kind == "huggingface":
                return _resolve_hub(origin, ref.path or "", timeout)
            return _resolve_url(_join(origin.base_url or "", ref.path or ""), timeout)
        except SourceNotFoundError as exc:
            not_found.append(str(exc))
    raise SourceNotFoundError(
        f"{file.path} is not available from any of its sources ({'; '.join(not_found)}). If it moved, give a "
        f"new location in {OVERRIDES_NAME} of the model folder or with --mirror, or import it from a folder."
    )


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + urllib.parse.quote(path.lstrip("/"))


def _resolve_url(url: str, timeout: float) -> RemoteFile:
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT,
                                                                   "Accept-Encoding": "identity"})
    try:
        with open_url(request, timeout) as response:
            length = response.headers.get("Content-Length")
            etag = response.headers.get("ETag") or ""
            final_url = response.geturl()
    except urllib.error.HTTPError as exc:
        raise http_error(exc.code, url) from None
    except (urllib.error.URLError, OSError) as exc:
        raise network_error(url, exc) from None
    size = int(length) if length and length.isdigit() else None
    return RemoteFile(url=final_url, headers={"User-Agent": USER_AGENT}, size=size, sha256=None,
                      git_blob=None, label=url, identity=f"{url}|{etag}|{size}")


def _resolve_hub(origin: Origin, path: str, timeout: float) -> RemoteFile:
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
    from huggingface_hub.utils import build_hf_headers

    label = f"{origin.repo_id}/{path} on {origin.endpoint or constants.ENDPOINT}"
    if constants.HF_HUB_OFFLINE:
        raise OfflineError(
            f"Cannot download {label}: Hugging Face offline mode is on (HF_HUB_OFFLINE is set). Unset it to "
            "download, or import the files from a folder."
        )
    url = hf_hub_url(origin.repo_id or "", path, revision=origin.revision, endpoint=origin.endpoint)
    try:
        meta = get_hf_file_metadata(url, timeout=timeout, endpoint=origin.endpoint)
    except OfflineModeIsEnabled:
        raise OfflineError(
            f"Cannot download {label}: Hugging Face offline mode is on (HF_HUB_OFFLINE)."
        ) from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        raise http_error(status, label) from None
    except Exception as exc:  # the hub client's transport errors: no network, DNS, refused, timeout
        raise network_error(label, exc) from None
    etag = (meta.etag or "").strip('"').lower()
    sha256 = etag if len(etag) == 64 and _is_hex(etag) else None
    git_blob = etag if len(etag) == 40 and _is_hex(etag) else None
    location = meta.location or url
    headers = {"User-Agent": USER_AGENT}
    if urllib.parse.urlsplit(location).netloc == urllib.parse.urlsplit(url).netloc:
        headers.update(build_hf_headers())  # a token goes to the hub only, never to a CDN
    return RemoteFile(url=location, headers=headers, size=meta.size, sha256=sha256, git_blob=git_blob,
                      label=label, identity=f"{origin.repo_id}|{path}|{meta.commit_hash}|{etag}|{meta.size}")


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


# errors in words ---------------------------------------------------------------------------
def http_error(status: int, what: str) -> DownloadError:
    if status == 404:
        return SourceNotFoundError(f"{what} was not found on the server (HTTP 404)")
    if status in (401, 403):
        return DownloadError(
            f"{what}: access denied (HTTP {status}). The repository may need you to accept its terms on its "
            "web page and log in (`hf auth login`), or the mirror refuses access."
        )
    if status == 429:
        return DownloadError(f"{what}: the server asks to slow down (HTTP 429). Try again in a few minutes.")
    if status >= 500:
        return DownloadError(f"{what}: the server has a problem (HTTP {status}). Try again later.")
    return DownloadError(f"{what}: the server answered HTTP {status}.")


def network_error(what: str, exc: BaseException) -> OfflineError:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror) or "name resolution" in str(reason).lower():
        text = "the server's name cannot be resolved - are you offline?"
    elif isinstance(reason, TimeoutError) or "timed out" in str(reason).lower():
        text = "no answer from the server (timed out) - are you offline or behind a proxy?"
    elif isinstance(reason, ConnectionRefusedError) or "refused" in str(reason).lower():
        text = "the connection was refused - are you offline, or is the mirror down?"
    else:
        text = f"the server cannot be reached ({reason})"
    return OfflineError(
        f"Cannot download {what}: {text} Without internet, copy the model files from another machine and "
        "import them (`dawn-studio models import FOLDER_OR_ZIP`)."
    )
