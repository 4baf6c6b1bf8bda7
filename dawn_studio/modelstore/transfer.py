"""One HTTP(S) download into a ``.part`` file next to its destination, resumable with a Range request.

A small sidecar (``.part.json``) remembers which remote file the bytes belong to, so a partial file
is only resumed against the same remote content. The caller verifies and renames; nothing here ever
produces a file under its final name.

Hub files come through here too, not through ``huggingface_hub.hf_hub_download``: the hub client is
used for what it knows (resolve URL, auth headers, offline mode, the ETag / X-Repo-Commit / X-Linked-Size
metadata: see ``sources._resolve_hub``), but its download (huggingface_hub 2.x, what a fresh install
gets) writes into a per-process ``<etag>.<random>.incomplete`` file that it deletes on any failure, so a
multi-gigabyte download cut off by a lost connection, a closed laptop or Ctrl-C starts again from zero,
while users here are promised "run it again, it resumes" (and the app's Cancel must stop within a chunk,
not through an exception from a tqdm bar). ``local_dir`` would also put the file under its final name
before our checks ran. The plain-URL files (the 3DDFA files on GitHub) need this code anyway, so both
kinds share one resumable transfer."""

from __future__ import annotations

import errno
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..progress import Cancelled, CancelToken
from .errors import DiskSpaceError, DownloadError, StoreAccessError
from .sources import RemoteFile, http_error, network_error, open_url

CHUNK = 256 << 10
BytesCallback = Callable[[int, int | None], None]  # (bytes of this file so far, its size if known)


def sidecar_of(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def discard_partial(part: Path) -> None:
    part.unlink(missing_ok=True)
    sidecar_of(part).unlink(missing_ok=True)


def resumable_bytes(part: Path, remote: RemoteFile) -> int:
    """How many bytes of ``part`` can be kept for ``remote`` (0 when it belongs to another file)."""
    try:
        meta = json.loads(sidecar_of(part).read_text(encoding="utf-8"))
        size = part.stat().st_size
    except (OSError, ValueError):
        return 0
    if not isinstance(meta, dict) or meta.get("identity") != remote.identity:
        return 0
    if remote.size is not None and size > remote.size:
        return 0
    return size


def fetch(remote: RemoteFile, part: Path, *, on_bytes: BytesCallback | None = None,
          cancel: CancelToken | None = None, timeout: float = 10.0) -> None:
    """Complete ``part`` with the bytes of ``remote``. Network failures keep what was received (run again
    to resume); cancelling removes it."""
    offset = resumable_bytes(part, remote)
    try:
        part.parent.mkdir(parents=True, exist_ok=True)
        if offset == 0:
            discard_partial(part)
        sidecar = {"identity": remote.identity, "url": remote.url}
        sidecar_of(part).write_text(json.dumps(sidecar), encoding="utf-8")
    except OSError as exc:
        raise _write_error(part, exc) from None
    if remote.size is not None and offset == remote.size:
        return
    try:
        _transfer(remote, part, offset, on_bytes, cancel, timeout)
    except Cancelled:
        discard_partial(part)
        raise


def _transfer(remote: RemoteFile, part: Path, offset: int, on_bytes: BytesCallback | None,
              cancel: CancelToken | None, timeout: float) -> None:
    headers = dict(remote.headers)
    headers["Accept-Encoding"] = "identity"
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(remote.url, headers=headers)
    try:
        response = open_url(request, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the server rejects our range: start over
            discard_partial(part)
            return fetch(remote, part, on_bytes=on_bytes, cancel=cancel, timeout=timeout)
        raise http_error(exc.code, remote.label) from None
    except (urllib.error.URLError, OSError) as exc:
        raise network_error(remote.label, exc) from None
    with response:
        if offset and response.status == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != offset:
                discard_partial(part)
                raise DownloadError(f"{remote.label}: the server resumed at the wrong position; try again.")
        elif offset:
            offset = 0  # the server ignored the range and sends the whole file
        length = response.headers.get("Content-Length")
        expected = offset + int(length) if length and length.isdigit() else remote.size
        done = offset
        try:
            with open(part, "r+b" if offset else "wb") as out:
                out.seek(offset)
                out.truncate()
                if on_bytes is not None:
                    on_bytes(done, expected)
                while True:
                    if cancel is not None:
                        cancel.check()
                    try:
                        chunk = response.read1(CHUNK)  # whatever has arrived: cancel stays responsive
                    except (OSError, http.client.HTTPException) as exc:
                        raise _interrupted(remote, done, expected, exc) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
                    if on_bytes is not None:
                        on_bytes(done, expected)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:  # read errors are turned into DownloadError above: this is the disk
            raise _write_error(part, exc) from None
    if expected is not None and done != expected:
        raise _interrupted(remote, done, expected, None)


def _content_range_start(value: str) -> int | None:
    match = re.match(r"bytes\s+(\d+)-", value.strip())
    return int(match.group(1)) if match else None


def _interrupted(remote: RemoteFile, done: int, expected: int | None,
                 exc: BaseException | None) -> DownloadError:
    of = f" of {expected}" if expected is not None else ""
    why = f" ({exc})" if exc else ""
    return DownloadError(
        f"The download of {remote.label} was interrupted after {done}{of} bytes{why}. "
        "Run the download again to resume where it stopped."
    )


def _write_error(part: Path, exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskSpaceError(
            f"The disk holding {part.parent} is full. Free some space (or choose another model folder) and "
            "run the download again; it resumes where it stopped."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreAccessError(f"No permission to write {part}: choose a model folder you can write to.")
    return StoreAccessError(f"Cannot write {part}: {exc.strerror or exc}")
