"""Errors of the model store: each one is a sentence a user can act on, never a library traceback."""

from __future__ import annotations


class ModelStoreError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class CatalogError(ModelStoreError):
    """The catalog (or a source override file) is unreadable or inconsistent."""


class UnknownModelError(ModelStoreError):
    """A name given by the user is neither a file id nor a feature id of the catalog."""


class ModelsMissingError(ModelStoreError):
    """A feature was asked for while some of its files are not installed."""

    def __init__(self, message: str, feature_id: str, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.feature_id = feature_id
        self.missing = missing


class DownloadError(ModelStoreError):
    """A download could not complete; what was received so far is kept for resuming unless said otherwise."""


class OfflineError(DownloadError):
    """The source could not be reached at all (no network, DNS failure, offline mode, refused connection)."""


class SourceNotFoundError(DownloadError):
    """The server answered but does not have the file (HTTP 404 / missing repository entry)."""


class IntegrityError(ModelStoreError):
    """A file's size, checksum or format is not what it must be; the file was refused."""


class DiskSpaceError(ModelStoreError):
    """Not enough free space in the model store for the files to be written."""


class StoreAccessError(ModelStoreError):
    """The model store folder (or an import source) cannot be read or written."""


class ModelImportError(ModelStoreError):
    """An import source cannot be used (not a folder or zip, unreadable, damaged zip)."""
