"""spotlab: cost analytics and advice for serving inference on spot GPU instances.

>>> import spotlab as sl
>>> store = sl.Store(":memory:")
"""

from spotlab import notebook
from spotlab.eas import (
    AutoscalerConfig,
    ConfigBundle,
    CronScaleConfig,
    Finding,
    ServiceConfig,
    build_config,
    lint,
    load_config,
)
from spotlab.eas import export as export_config
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
    "AutoscalerConfig",
    "ConfigBundle",
    "ConfigError",
    "CronScaleConfig",
    "ExternalError",
    "Finding",
    "FormatError",
    "IngestError",
    "IngestResult",
    "ServiceConfig",
    "SpotlabError",
    "Store",
    "StoreError",
    "StoreLockedError",
    "__version__",
    "build_config",
    "export_config",
    "ingest",
    "lint",
    "load_config",
    "notebook",
]
