"""spotlab: cost analytics and advice for serving inference on spot GPU instances.

>>> import spotlab as sl
>>> store = sl.Store(":memory:")
"""

from spotlab import notebook
from spotlab.errors import (
    AnalysisError,
    ConfigError,
    ExternalError,
    FormatError,
    IngestError,
    SpotlabError,
    StoreError,
    StoreLockedError,
)
from spotlab.ingest import IngestResult, ingest
from spotlab.schema import SCHEMA_VERSION
from spotlab.store import Store

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "AnalysisError",
    "ConfigError",
    "ExternalError",
    "FormatError",
    "IngestError",
    "IngestResult",
    "SpotlabError",
    "Store",
    "StoreError",
    "StoreLockedError",
    "__version__",
    "ingest",
    "notebook",
]
