"""spotlab: cost analytics and advice for serving inference on spot GPU instances.

>>> import spotlab as sl
>>> store = sl.Store(":memory:")
"""

from spotlab import assumptions, notebook
from spotlab.advise.allocation import Allocation, PoolEntry, allocate
from spotlab.advise.backtest import BacktestResult, backtest_bids, compare_strategies
from spotlab.advise.bids import BidAdvice, BidParams, bid_curve, recommend_bids
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
from spotlab.advise.costmodel import CostParams, ListCost, ListEntry, evaluate_entries
from spotlab.advise.interruptions import interruption_rates, interruption_report
from spotlab.advise.ordering import Ordering, Requirements, recommend_ordering
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
    FetchError,
    FormatError,
    IngestError,
    SpotlabError,
    StoreError,
    StoreLockedError,
)
from spotlab.fetch import FetchResult, fetch
from spotlab.fleet.scaling import ScalingPlan, scaling_plan
from spotlab.fleet.search import EasSetting, FleetChoice, recommend_fleet
from spotlab.fleet.simulate import FleetResult, simulate
from spotlab.fleet.startup import fleet_startup
from spotlab.ingest import IngestResult, ingest
from spotlab.prices import price_stats
from spotlab.report import Report, build_report, write_report
from spotlab.requirements import RequirementsError
from spotlab.schema import SCHEMA_VERSION
from spotlab.sources import forget
from spotlab.store import Store

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "Allocation",
    "AnalysisError",
    "AutoscalerConfig",
    "BacktestResult",
    "Bandwidths",
    "BidAdvice",
    "BidParams",
    "ColdstartReport",
    "ColdstartSaving",
    "ConfigBundle",
    "ConfigError",
    "CostParams",
    "CronScaleConfig",
    "EasSetting",
    "ExternalError",
    "FetchError",
    "FetchResult",
    "Finding",
    "FleetChoice",
    "FleetResult",
    "FormatError",
    "ImagePullModel",
    "IngestError",
    "IngestResult",
    "ListCost",
    "ListEntry",
    "LoadFit",
    "Ordering",
    "PoolEntry",
    "Report",
    "Requirements",
    "RequirementsError",
    "ScalingPlan",
    "ServiceConfig",
    "SpotlabError",
    "Store",
    "StoreError",
    "StoreLockedError",
    "__version__",
    "allocate",
    "assumptions",
    "backtest_bids",
    "bid_curve",
    "build_config",
    "build_report",
    "coldstart_report",
    "coldstart_saving",
    "compare_strategies",
    "evaluate_entries",
    "export_config",
    "fetch",
    "fit_load_times",
    "fleet_startup",
    "forget",
    "ingest",
    "interruption_rates",
    "interruption_report",
    "lint",
    "load_config",
    "load_fit_table",
    "load_times",
    "monthly_savings",
    "notebook",
    "predict_load_seconds",
    "predicted_startup_seconds",
    "price_stats",
    "recommend_bids",
    "recommend_fleet",
    "recommend_ordering",
    "replacement_timeline",
    "scaling_plan",
    "seed_load_times",
    "simulate",
    "write_report",
]
