"""The model manager: the catalog of model files, the store folder, its status, and getting files
into it (download with resume/cancel/verification, or import from a folder or zip). No Qt here."""

from .catalog import Catalog, CatalogFile, Feature, Licence, Origin, load_catalog
from .download import DownloadResult, download, files_to_download
from .errors import (
    CatalogError,
    DiskSpaceError,
    DownloadError,
    IntegrityError,
    ModelImportError,
    ModelsMissingError,
    ModelStoreError,
    OfflineError,
    SourceNotFoundError,
    StoreAccessError,
    UnknownModelError,
)
from .events import StoreProgress
from .importer import ImportReport, import_models
from .location import StoreLocation, locate_store, use_folder
from .store import FeatureStatus, FileState, FileStatus, ModelStore, StoreStatus

__all__ = [
    "Catalog", "CatalogFile", "CatalogError", "DiskSpaceError", "DownloadError", "DownloadResult",
    "Feature", "FeatureStatus", "FileState", "FileStatus", "ImportReport", "IntegrityError", "Licence",
    "ModelImportError", "ModelStore", "ModelStoreError", "ModelsMissingError", "OfflineError", "Origin",
    "SourceNotFoundError", "StoreAccessError", "StoreLocation", "StoreProgress", "StoreStatus",
    "UnknownModelError", "download", "files_to_download", "import_models", "load_catalog", "locate_store",
    "use_folder",
]
