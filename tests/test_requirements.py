"""One requirements model for ordering, lint, export and the CLI; one flag name per quantity."""

from __future__ import annotations

import math

import pytest
import typer

import spotlab as sl
from spotlab.advise import ordering
from spotlab.cli import app
from spotlab.eas import build_config, lint
from spotlab.requirements import Requirements, RequirementsError

SPOT_ONLY = {
    "metadata": {"name": "x", "instance": 1},
    "cloud": {"computing": {"instances": [{"type": "ecs.gn8is.2xlarge"}]}},
}


def test_ordering_reexports_the_one_model() -> None:
    assert ordering.Requirements is Requirements is sl.Requirements


def test_a_typo_fails_with_did_you_mean() -> None:
    with pytest.raises(RequirementsError, match="Did you mean 'gpu_memory_gib'"):
        Requirements.from_any({"gpu_memroy_gib": 24})
    # the error is both kinds, so the ordering's and the config's callers catch it
    with pytest.raises(sl.AnalysisError):
        Requirements(gpu_memroy_gib=24)  # type: ignore[call-arg]
    with pytest.raises(sl.ConfigError):
        Requirements(gpu_memroy_gib=24)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("key", "right"),
    [
        ("model_size_gib", "model_size_gb"),  # once read as GB, silently
        ("image_size_gib", "image_size_gb"),
        ("gpu_memory_gb", "gpu_memory_gib"),  # once read as GiB, silently
        ("memory_gb", "memory_gib"),
    ],
)
def test_the_other_unit_is_refused_and_named(key: str, right: str) -> None:
    with pytest.raises(RequirementsError, match=f"as '{right}': convert the value"):
        Requirements.from_any({key: 7.2})


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"gpu_memory_gib": math.nan}, "gpu_memory_gib: Input should be a finite number"),
        ({"gpu_memory_gib": math.inf}, "finite number"),
        ({"gpu_memory_gib": -1}, "greater than or equal to 0"),
        ({"model_size_gb": math.nan}, "model_size_gb"),
        ({"gpus": -1}, "gpus"),
        ({"gpus": 1.5}, "gpus"),
        ({"gpu_memory_gib": "24"}, "valid number"),
        ({"gpu_memory_gib": 8, "gpus": 0}, "needs gpus >= 1"),
        ({"throughput": {"A1": 0}}, r"throughput\.A1"),
    ],
)
def test_numbers_finite_and_in_range(values: dict, match: str) -> None:
    with pytest.raises(RequirementsError, match=match):
        Requirements.from_any(values)


def test_none_values_are_not_given_and_none_is_no_requirements() -> None:
    req = Requirements.from_any({"gpu_memory_gib": 24, "model_size_gb": None})
    assert (req.gpu_memory_gib, req.model_size_gb) == (24.0, None)
    assert Requirements.optional(None) == Requirements()
    with pytest.raises(RequirementsError, match="no requirements"):
        Requirements.from_any(None)
    with pytest.raises(RequirementsError, match="mapping"):
        Requirements.from_any([("gpu_memory_gib", 24)])  # type: ignore[arg-type]


def test_lint_export_and_ordering_refuse_the_typo() -> None:
    with pytest.raises(RequirementsError, match="gpu_memory_gib"):
        lint(SPOT_ONLY, requirements={"gpu_memroy_gib": 24})
    with pytest.raises(RequirementsError, match="model_size_gb"):
        build_config("x", "r/x:1", instances=[{"type": "a"}], requirements={"model_size_gib": 7})
    with pytest.raises(sl.AnalysisError, match="gpu_memory_gib"):
        sl.recommend_ordering({"gpu_memroy_gib": 24}, catalog=None)


def test_lint_reads_gpu_memory_from_the_model() -> None:
    # 24 GiB fits ecs.gn8is.2xlarge (one 48 GB L20); 100 GiB does not
    fits = lint(SPOT_ONLY, requirements=Requirements(gpu_memory_gib=24))
    short = lint(SPOT_ONLY, requirements=Requirements(gpu_memory_gib=100))
    assert "gpu-memory-short" not in {f.rule for f in fits}
    assert "gpu-memory-short" in {f.rule for f in short}


# -- the CLI: one spelling per quantity ----------------------------------------------------


def _options() -> dict[str, set[str]]:
    group = typer.main.get_command(app)
    out = {}
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        out[name] = {o for p in cmd.params for o in p.opts if o.startswith("--")}
    return out


def test_quantities_carry_their_unit_in_every_command() -> None:
    opts = _options()
    every = set().union(*opts.values())
    assert not every & {"--gpu-mem", "--model-size", "--image-size", "--memory"}
    for flag in every:
        if "size" in flag and "-per-" not in flag:
            assert flag.endswith("-gb"), flag
        if "memory" in flag:
            assert flag.endswith("-gib"), flag
    assert {"--gpu-memory-gib", "--model-size-gb", "--image-size-gb", "--startup-seconds"} <= opts[
        "order"
    ]
    assert {"--gpu-memory-gib", "--model-size-gb", "--image-size-gb"} <= opts["lint"]
    assert {"--gpu-memory-gib", "--model-size-gb"} <= opts["export"]
    assert {"--model-size-gb", "--image-size-gb"} <= opts["coldstart"] & opts["bids"]
    assert "--startup-seconds" in opts["simulate"] & opts["scale"]


def test_the_old_flag_fails_with_the_new_name(cli) -> None:
    code, _, err = cli("order", "--gpu-mem", "24")
    assert code == 2 and "--gpu-memory-gib" in err


def test_qps_that_would_be_ignored_is_an_error(cli, tmp_path) -> None:
    code, _, err = cli("export", "--out", tmp_path / "d", "--name", "a", "--image", "r/a:1",
                       "--qps", "10")  # fmt: skip
    assert code == 2
    assert err.startswith("error: ") and "--min/--max" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "d").exists()
    # a command that has no --qps at all refuses it too
    code, _, err = cli("lint", tmp_path, "--qps", "10")
    assert code == 2 and "No such option: --qps" in err
