"""spotlab: cost analytics and advice for serving inference on spot GPU instances.

>>> import spotlab as sl
>>> store = sl.Store(":memory:")
"""

from spotlab import notebook
from spotlab.advise.coldstart import (
    Bandwidths,
    ColdstartReport,
    ColdstartSaving,
    ImagePullModel,
    LoadFit,
    coldstart_report,
    coldstart_saving,
    fit_load_times,
    load_fit_table,
    load_times,
    monthly_savings,
    predict_load_seconds,
    predicted_startup_seconds,
    replacement_timeline,
    seed_load_times,
)
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
    "Bandwidths",
    "ColdstartReport",
    "ColdstartSaving",
    "ConfigBundle",
    "ConfigError",
    "CronScaleConfig",
    "ExternalError",
    "Finding",
    "FormatError",
    "ImagePullModel",
    "IngestError",
    "IngestResult",
    "LoadFit",
    "ServiceConfig",
    "SpotlabError",
    "Store",
    "StoreError",
    "StoreLockedError",
    "__version__",
    "build_config",
    "coldstart_report",
    "coldstart_saving",
    "export_config",
    "fit_load_times",
    "ingest",
    "lint",
    "load_config",
    "load_fit_table",
    "load_times",
    "monthly_savings",
    "notebook",
    "predict_load_seconds",
    "predicted_startup_seconds",
    "replacement_timeline",
    "seed_load_times",
]
