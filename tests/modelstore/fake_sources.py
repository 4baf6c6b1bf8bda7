"""A local stand-in for the model sources: an HTTP server on 127.0.0.1 that serves files like the
Hugging Face hub (resolve URLs, LFS redirects with SHA-256 ETags, git-blob ETags for small files) and
like a plain web server (HEAD, Range), with knobs to drop connections, corrupt bytes or go slowly;
and a small catalog pointing at it."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = "acme/talking-models"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def torch_like_zip(payload_size: int, seed: int = 0) -> bytes:
    """A real torch.save archive (the store loads its structure safely) of about ``payload_size`` bytes."""
    import torch

    blob = hashlib.sha256(str(seed).encode()).digest() * (payload_size // 32 + 1)
    buffer = io.BytesIO()
    torch.save({"weights": torch.frombuffer(bytearray(blob[:payload_size]), dtype=torch.uint8)}, buffer)
    return buffer.getvalue()


def payloads() -> dict[str, bytes]:
    return {
        "big_model.pth": torch_like_zip(3 << 20, seed=1),
        "settings/opt.yaml": b"model: pose\nlayers: 4\nwidth: 256\n",
        "FaceDetector.pth": torch_like_zip(40_000, seed=2),
        "stats.pkl": pickle.dumps({"mean": [0.0] * 4, "std": [1.0] * 4}, protocol=2),
    }


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_catalog(folder: Path, server_url: str, files: dict[str, bytes]) -> Path:
    """A catalog with a hub origin and a web origin on the local server; returns its path."""
    detector = files["FaceDetector.pth"]
    catalog = {
        "format": 1,
        "licences": {
            "research": {"name": "Research only", "url": "https://example.org/terms",
                         "text": "For research purposes only."},
            "mit": {"name": "MIT", "url": "", "text": "MIT License."},
        },
        "origins": {
            "hub": {"kind": "huggingface", "repo_id": REPO, "revision": "main", "endpoint": server_url},
            "web": {"kind": "url", "base_url": f"{server_url}/web/"},
        },
        "files": [
            {"id": "big", "path": "big_model.pth", "title": "Big model", "purpose": "Makes videos.",
             "licence": "research", "sources": [{"origin": "hub", "path": "big_model.pth"}],
             "size": None, "sha256": None},
            {"id": "settings", "path": "nets/pose/opt.yaml", "title": "Settings", "purpose": "Options.",
             "licence": "research", "match": ["pose/opt.yaml"],
             "sources": [{"origin": "hub", "path": "missing/opt.yaml"},
                         {"origin": "hub", "path": "settings/opt.yaml"}],
             "size": None, "sha256": None},
            {"id": "detector", "path": "3ddfa/FaceDetector.pth", "title": "Detector",
             "purpose": "Finds faces.", "licence": "mit",
             "sources": [{"origin": "web", "path": "weights/FaceDetector.pth"}],
             "size": len(detector), "sha256": hashlib.sha256(detector).hexdigest()},
            {"id": "stats", "path": "3ddfa/stats.pkl", "title": "Statistics", "purpose": "Normalises.",
             "licence": "mit", "sources": [{"origin": "web", "path": "configs/stats.pkl"}],
             "size": None, "sha256": None},
        ],
        "features": [
            {"id": "face", "title": "Face analysis", "files": ["detector", "stats"]},
            {"id": "talk", "title": "Talking video", "files": ["big", "settings"], "requires": ["face"]},
            {"id": "record", "title": "Recording", "files": []},
        ],
    }
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    return path


class ModelServer:
    """Serves ``hub`` files under /<repo>/resolve/main/<path> and ``web`` files under /web/<path>."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.hub = {"big_model.pth": files["big_model.pth"], "settings/opt.yaml": files["settings/opt.yaml"]}
        self.lfs = {"big_model.pth"}
        self.web = {"weights/FaceDetector.pth": files["FaceDetector.pth"],
                    "configs/stats.pkl": files["stats.pkl"]}
        self.drop_after: dict[str, int] = {}  # path -> close the connection after this many bytes (once)
        self.corrupt: set[str] = set()  # paths whose bytes are altered (headers still announce the original)
        self.delay = 0.0  # seconds per 64 KiB chunk
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.authorizations: list[tuple[str, str | None]] = []  # (path, Authorization header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                server._handle(self, head=True)

            def do_GET(self) -> None:
                server._handle(self, head=False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.cdn_url = f"http://localhost:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, request: BaseHTTPRequestHandler, head: bool) -> None:
        path = request.path
        self.requests.append(("HEAD" if head else "GET", path, request.headers.get("Range")))
        self.authorizations.append((path, request.headers.get("Authorization")))
        if path.startswith("/web/moved/"):  # a redirect to another host name
            request.send_response(302)
            request.send_header("Location", f"{self.cdn_url}/web/{path[len('/web/moved/'):]}")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return None
        prefix = f"/{REPO}/resolve/main/"
        if path.startswith(prefix):
            name = path[len(prefix):]
            data = self.hub.get(name)
            if data is None:
                return self._not_found(request)
            if name in self.lfs:
                request.send_response(302)
                # another host name, like the hub's CDN: the hub client stops there and reads these headers
                request.send_header("Location", f"{self.cdn_url}/cdn/{name}")
                request.send_header("X-Linked-Size", str(len(data)))
                request.send_header("X-Linked-Etag", f'"{hashlib.sha256(data).hexdigest()}"')
                request.send_header("X-Repo-Commit", COMMIT)
                request.send_header("Content-Length", "0")
                request.end_headers()
                return None
            small_file = {"ETag": f'"{git_blob_id(data)}"', "X-Repo-Commit": COMMIT}
            return self._send(request, name, data, head, small_file)
        if path.startswith("/cdn/") and path[5:] in self.hub:
            return self._send(request, path[5:], self.hub[path[5:]], head, {})
        if path.startswith("/web/") and path[5:] in self.web:
            return self._send(request, path[5:], self.web[path[5:]], head, {"ETag": '"w1"'})
        return self._not_found(request)

    @staticmethod
    def _not_found(request: BaseHTTPRequestHandler) -> None:
        request.send_response(404)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _send(self, request: BaseHTTPRequestHandler, name: str, data: bytes, head: bool,
              extra: dict[str, str]) -> None:
        body = data
        if name in self.corrupt:
            body = bytearray(data)
            body[len(body) // 2] ^= 0xFF
            body = bytes(body)
        start = 0
        range_header = request.headers.get("Range")
        if range_header and not head:
            start = int(range_header.split("=")[1].split("-")[0])
            request.send_response(206)
            request.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            request.send_response(200)
        request.send_header("Content-Length", str(len(body) - start))
        request.send_header("Accept-Ranges", "bytes")
        for key, value in extra.items():
            request.send_header(key, value)
        request.end_headers()
        if head:
            return
        limit = self.drop_after.pop(name, None)
        sent, position = 0, start
        while position < len(body):
            chunk = body[position:position + (64 << 10)]
            if limit is not None and sent + len(chunk) > limit:
                request.wfile.write(chunk[: limit - sent])
                request.wfile.flush()
                request.close_connection = True
                request.connection.shutdown(2)
                return
            try:
                request.wfile.write(chunk)
            except OSError:
                return
            sent += len(chunk)
            position += len(chunk)
            if self.delay:
                time.sleep(self.delay)
