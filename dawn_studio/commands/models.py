"""``dawn-studio models list | download | import | verify | use-folder``: the model manager headless."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from ..modelstore import (
    FileState,
    ModelStore,
    ModelStoreError,
    StoreProgress,
    download,
    files_to_download,
    import_models,
    use_folder,
)
from ..modelstore.catalog import Catalog, CatalogFile
from ..modelstore.sources import describe_source, mirror_override
from ..modelstore.store import human_size
from ..progress import Cancelled, CancelToken
from .terminal import with_cancel_on_interrupt

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CANCELLED = 130
_MARK = {FileState.VERIFIED: "verified", FileState.PRESENT: "present", FileState.MISSING: "missing",
         FileState.PARTIAL: "partial", FileState.CORRUPT: "CORRUPT"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models", help="list, download, import and verify the model files",
        description="Manage the model files DAWN Studio needs (none are bundled).",
    )
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="model folder for this command (default: $DAWN_STUDIO_MODELS, the folder chosen "
                             "with use-folder, models/ of a checkout, or your user data folder)")
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="what is installed, what is missing and how to get it")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=run_list)

    fetch = actions.add_parser("download", help="download missing files (all, or the named files/features)")
    fetch.add_argument("names", nargs="*", metavar="NAME",
                       help="file ids or features (dawn128, dawn256, ...)")
    fetch.add_argument("--yes", "-y", action="store_true", help="accept the licence terms without asking")
    fetch.add_argument("--mirror", action="append", default=[], metavar="SOURCE=URL",
                       help="fetch a source from elsewhere for this run (hub endpoint or base URL); "
                            "repeatable")
    fetch.add_argument("--timeout", type=float, default=10.0, help="network timeout in seconds (default 10)")
    fetch.set_defaults(func=run_download)

    importing = actions.add_parser("import", help="copy model files from a folder or zip into the store")
    importing.add_argument("path", type=Path, metavar="PATH",
                           help="folder (e.g. a pretrain_models/ copy) or zip")
    importing.add_argument("--link", action="store_true", help="link instead of copying (folders only)")
    importing.set_defaults(func=run_import)

    verify = actions.add_parser("verify", help="check installed files against their checksums")
    verify.add_argument("names", nargs="*", metavar="NAME", help="file ids or features (default: all)")
    verify.add_argument("--force", action="store_true", help="re-check files already verified and unchanged")
    verify.set_defaults(func=run_verify)

    folder = actions.add_parser("use-folder", help="remember a model folder for the app and the command line")
    folder.add_argument("folder", type=Path, nargs="?", metavar="DIR")
    folder.add_argument("--reset", action="store_true", help="forget the chosen folder")
    folder.set_defaults(func=run_use_folder)


def open_store(args: argparse.Namespace) -> ModelStore:
    if args.store is not None:
        return ModelStore(args.store, reason="given with --store")
    return ModelStore.locate()


def _fail(exc: Exception) -> int:
    print(f"Error: {exc}", file=sys.stderr)
    return EXIT_FAILURE


# list ----------------------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    try:
        store = open_store(args)
        status = store.status()
    except ModelStoreError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(status_as_json(store), indent=1))
        return EXIT_OK
    out = sys.stdout
    print(f"Model folder: {store.root} ({store.reason})", file=out)
    if store.ledger.ignored:
        print(f"Note: ignored part of the damaged record {store.ledger.path.name}: "
              f"{'; '.join(store.ledger.ignored)}. Those files count as not yet checked; "
              "`dawn-studio models verify` checks them again.", file=out)
    print("", file=out)
    print("Features:", file=out)
    for feature in status.features:
        mark = "ok" if feature.ready else "--"
        mark = "  " if not feature.needs_models else mark
        print(f"  [{mark}] {feature.summary}  ({feature.feature.id})", file=out)
    print("", file=out)
    print("Files:", file=out)
    width = max(len(s.file.path) for s in status.files)
    for file_status in status.files:
        file = file_status.file
        size = human_size(file_status.size_on_disk) if file_status.size_on_disk is not None else (
            human_size(file.size) if file.size is not None else "?")
        needed_by = ", ".join(f.id for f in store.catalog.features if file.id in f.files) or "-"
        print(f"  {_MARK[file_status.state]:<9} {size:>9}  {file.path:<{width}}  {needed_by}", file=out)
        if file_status.state in (FileState.PARTIAL, FileState.CORRUPT):
            print(f"  {'':<9} {'':>9}  -> {file_status.detail}", file=out)
    print("", file=out)
    explain_next_steps(store, [s.file for s in status.missing], out)
    return EXIT_OK


def explain_next_steps(store: ModelStore, missing: list[CatalogFile], out: TextIO) -> None:
    catalog = store.catalog
    if not missing:
        print("Every model file is installed. `dawn-studio models verify` checks them against their "
              "checksums.", file=out)
        return
    known = sum(f.size or 0 for f in missing)
    unknown = sum(1 for f in missing if f.size is None)
    size_text = f"{human_size(known)} known" + (f", {unknown} more sized by the server" if unknown else "")
    print(f"{len(missing)} file(s) missing ({size_text}). To get them:", file=out)
    print("  dawn-studio models download              # everything missing", file=out)
    status = store.status()
    for feature in catalog.offered_features():
        if not status.feature(feature.id).ready:
            print(f"  dawn-studio models download {feature.id:<13} # only what {feature.title} needs",
                  file=out)
    print("  dawn-studio models import PATH            # offline: a folder or zip copied from elsewhere",
          file=out)
    print("", file=out)
    print("Where they come from:", file=out)
    for file in missing:
        print(f"  {file.path}: {describe_source(catalog, file.sources[0])}", file=out)
    print("", file=out)
    print("Terms of use (shown again before downloading):", file=out)
    for licence_id in sorted({f.licence for f in missing}):
        licence = catalog.licences[licence_id]
        print(f"  - {licence.name} ({licence.url})", file=out)


def status_as_json(store: ModelStore) -> dict[str, Any]:
    status = store.status()
    return {
        "store": str(store.root),
        "reason": store.reason,
        "ledger_ignored": list(store.ledger.ignored),
        "features": [{"id": f.feature.id, "ready": f.ready, "summary": f.summary,
                      "missing": [s.file.id for s in f.missing]} for f in status.features],
        "files": [{"id": s.file.id, "path": s.file.path, "state": s.state.value, "detail": s.detail,
                   "size_on_disk": s.size_on_disk, "expected_size": s.file.size, "sha256": s.file.sha256,
                   "licence": s.file.licence} for s in status.files],
    }


# download ------------------------------------------------------------------------------------
class TextProgress:
    """A one-line progress bar on a terminal; one line per finished step otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last_draw = 0.0
        self.last_phase: tuple[str, str] | None = None

    def __call__(self, p: StoreProgress) -> None:
        if not self.tty:
            if (p.phase, p.file_id) != self.last_phase and p.phase in ("downloading", "copying", "installed",
                                                                       "verifying"):
                self.last_phase = (p.phase, p.file_id)
                print(f"[{p.index + 1}/{p.count}] {p.phase} {p.file_path}", file=self.out, flush=True)
            return
        now = time.monotonic()
        if p.phase == "downloading" and now - self.last_draw < 0.1 and p.file_done != p.file_total:
            return
        self.last_draw = now
        fraction = p.fraction
        bar_width = 24
        filled = int(bar_width * fraction) if fraction is not None else 0
        bar = "#" * filled + "." * (bar_width - filled)
        pct = f"{100 * fraction:5.1f}%" if fraction is not None else "  ?  "
        file_total = human_size(p.file_total) if p.file_total else "?"
        total = f" | total {human_size(p.done)} / {human_size(p.total)}" if p.total else ""
        line = (f"\r[{bar}] {pct} [{p.index + 1}/{p.count}] {p.phase} {p.file_path} "
                f"{human_size(p.file_done)} / {file_total}{total}")
        print(line[:160].ljust(160), end="", file=self.out, flush=True)
        if p.phase == "installed" and p.index + 1 == p.count:
            print(file=self.out)

    def finish(self) -> None:
        if self.tty:
            print(file=self.out, flush=True)


def with_progress_bar(work: Callable[[TextProgress, CancelToken], T]) -> T:
    """``work(bar, cancel)`` with a progress bar on stderr, cancelled by Ctrl-C; the bar ends either way."""
    bar = TextProgress(sys.stderr)
    try:
        return with_cancel_on_interrupt(lambda cancel: work(bar, cancel))
    finally:
        bar.finish()


def confirm_terms(catalog: Catalog, files: list[CatalogFile], assume_yes: bool) -> bool:
    print("These files are published under the following terms:")
    for licence_id in sorted({f.licence for f in files}):
        licence = catalog.licences[licence_id]
        names = ", ".join(f.path for f in files if f.licence == licence_id)
        print(f"\n* {licence.name}\n  {licence.url}\n  {licence.text}\n  Files: {names}")
    print()
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print("Pass --yes to accept these terms when running without a terminal.", file=sys.stderr)
        return False
    answer = input("Accept these terms and download? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def run_download(args: argparse.Namespace) -> int:
    try:
        store = open_store(args)
        todo, present = files_to_download(store, args.names)
        if not todo:
            print(f"Nothing to download: the {len(present)} requested file(s) are installed in {store.root}.")
            return EXIT_OK
        overrides: dict[str, Any] = {}
        for spec in args.mirror:
            for key, value in mirror_override(store.catalog, spec).items():
                overrides.setdefault(key, {}).update(value)
        if not confirm_terms(store.catalog, todo, args.yes):
            print("Nothing downloaded.")
            return EXIT_FAILURE
        print(f"Downloading {len(todo)} file(s) into {store.root} ...")
        result = with_progress_bar(
            lambda bar, cancel: download(store, [f.id for f in todo], progress=bar, cancel=cancel,
                                         overrides=_merged_overrides(store, overrides), timeout=args.timeout))
    except Cancelled:
        print("Cancelled; nothing half-written was kept.", file=sys.stderr)
        return EXIT_CANCELLED
    except ModelStoreError as exc:
        return _fail(exc)
    print(f"Installed {len(result.installed)} file(s).")
    _print_features(store)
    return EXIT_OK


def _merged_overrides(store: ModelStore, extra: dict[str, Any]) -> dict[str, Any] | None:
    if not extra:
        return None  # download() reads sources.json of the store itself
    from ..modelstore.sources import load_overrides

    merged = load_overrides(store.root)
    for key, value in extra.items():
        section = dict(merged.get(key) or {})
        for name, fields in value.items():
            section[name] = {**section.get(name, {}), **fields} if isinstance(fields, dict) else fields
        merged[key] = section
    return merged


def _print_features(store: ModelStore) -> None:
    for feature in store.status().features:
        if feature.needs_models:
            print(f"  {feature.summary}")


# import ----------------------------------------------------------------------------------------
def run_import(args: argparse.Namespace) -> int:
    try:
        store = open_store(args)
        print(f"Importing from {args.path} into {store.root} ...")
        report = with_progress_bar(
            lambda bar, cancel: import_models(store, args.path, link=args.link, progress=bar, cancel=cancel))
    except Cancelled:
        print("Cancelled; nothing half-written was kept.", file=sys.stderr)
        return EXIT_CANCELLED
    except ModelStoreError as exc:
        return _fail(exc)
    print(report.summary(store.catalog))
    if report.unrecognised:
        print(f"({report.unrecognised} other file(s) in {args.path} are not model files DAWN Studio uses.)")
    _print_features(store)
    return EXIT_OK if not report.rejected else EXIT_FAILURE


# verify ----------------------------------------------------------------------------------------
def run_verify(args: argparse.Namespace) -> int:
    try:
        store = open_store(args)

        def verify(bar: TextProgress, cancel: CancelToken) -> list:
            def progress(file_id: str, done: int, total: int) -> None:
                file = store.catalog.file(file_id)
                bar(StoreProgress("verifying", file_id, file.path, 0, 1, done, total, done, total))

            return store.verify(args.names or None, force=args.force, progress=progress, cancel=cancel)

        results = with_progress_bar(verify)
    except Cancelled:
        print("Cancelled.", file=sys.stderr)
        return EXIT_CANCELLED
    except ModelStoreError as exc:
        return _fail(exc)
    bad = 0
    for status in results:
        if status.state in (FileState.MISSING, FileState.PARTIAL):
            continue
        bad += status.state is FileState.CORRUPT
        print(f"  {_MARK[status.state]:<9} {status.file.path}: {status.detail}")
    missing = sum(1 for s in results if s.state in (FileState.MISSING, FileState.PARTIAL))
    if missing:
        print(f"{missing} file(s) are not installed (see `dawn-studio models list`).")
    if bad:
        print(f"{bad} file(s) failed the check; download them again with `dawn-studio models download`.")
        return EXIT_FAILURE
    return EXIT_OK


# use-folder ------------------------------------------------------------------------------------
def run_use_folder(args: argparse.Namespace) -> int:
    try:
        if args.reset:
            use_folder(None)
            print(f"Forgot the chosen model folder; now using {ModelStore.locate().root}.")
            return EXIT_OK
        if args.folder is None:
            print("Give a folder, or --reset.", file=sys.stderr)
            return EXIT_FAILURE
        store = ModelStore(args.folder)
        store.ensure_writable()
        use_folder(args.folder)
    except ModelStoreError as exc:
        return _fail(exc)
    print(f"The app and the command line now keep their models in {store.root.resolve()}.")
    return EXIT_OK
