"""The archive: records and who may read them, case files (hồ sơ), retention, full text and
search, fixity, long-term validation, transfer packages, reindexing and disposal."""

from engine.archive import case_files, disposal, records, retention, search, transfer
from engine.archive.search import SearchQuery, SearchResults

__all__ = [
    "SearchQuery",
    "SearchResults",
    "case_files",
    "disposal",
    "records",
    "retention",
    "search",
    "transfer",
]
