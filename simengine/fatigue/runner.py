"""Run a fatigue batch from its configuration: sample replicas, solve, summarise."""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np
from scipy import stats

from simengine.config.fatigue import FatigueConfig
from simengine.engine.sampling import draw_scatter
from simengine.fatigue.batch import STATUS, BatchResult, ReplicaParams, run_constant_Y, run_variable_Y

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class FatigueRun:
    config: FatigueConfig
    seed: int
    params: ReplicaParams  # numpy arrays over replicas
    load_scale: np.ndarray
    multipliers: np.ndarray  # (n_blocks,)
    failure_years: np.ndarray  # inf where the replica survived, nan where invalid
    status: np.ndarray
    record_years: np.ndarray  # (n_records,)
    crack_m: np.ndarray  # (n_records, n_replicas)

    @property
    def n(self) -> int:
        return self.status.size

    def failure_probability(self, years: np.ndarray, confidence: float = 0.95):
        """P(failure by each year) with a Clopper–Pearson interval over the valid replicas."""
        valid = self.status != 2
        n = int(valid.sum())
        k = np.array([(self.failure_years[valid] <= y).sum() for y in years])
        alpha = 1.0 - confidence
        lower = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        upper = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
        return k / max(n, 1), lower, upper

    def median_life_years(self) -> float:
        """Median time to failure; inf when fewer than half fail within the horizon."""
        valid = self.failure_years[self.status != 2]
        return float(np.median(valid)) if valid.size else math.nan

    def status_counts(self) -> dict[str, int]:
        return {STATUS[code]: int((self.status == code).sum()) for code in STATUS}


def load_spectrum(cfg: FatigueConfig):
    """The nominal load block: stress ranges (MPa) and their counts per block."""
    from simengine.fatigue.spectrum import LoadSpectrum, spectrum_from_hdf5

    load = cfg.load
    if load.source == "hdf5":
        h = load.hdf5
        spectrum = spectrum_from_hdf5(h.path, h.variable, replica=h.replica, asset=h.asset,
                                      youngs_modulus_MPa=h.youngs_modulus_MPa)
        return spectrum.repeated(cfg.block_h)
    lifts = load.crane_lifts
    per_block = lifts.lifts_per_h * lifts.operating_hours_per_year / 8760.0 * cfg.block_h
    ranges = lifts.stress_per_t_MPa * np.asarray(lifts.load_classes_t)
    return LoadSpectrum(ranges_MPa=ranges, means_MPa=ranges / 2.0, counts=per_block * np.asarray(lifts.load_probs),
                        block_h=cfg.block_h, source="crane_lifts")


def block_multipliers(cfg: FatigueConfig, n_blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Shared load history: an annual swing of the cycle count times Gamma(mean 1, cv) traffic."""
    t_mid_h = (np.arange(n_blocks) + 0.5) * cfg.block_h
    season = 1.0 + cfg.load.seasonal_amplitude * np.sin(2.0 * np.pi * t_mid_h / HOURS_PER_YEAR)
    cv = cfg.load.traffic_cv
    traffic = rng.gamma(1.0 / cv**2, cv**2, n_blocks) if cv > 0 else np.ones(n_blocks)
    return season * traffic


def sample_replicas(cfg: FatigueConfig, spectrum, n: int, rng: np.random.Generator) -> tuple[ReplicaParams, np.ndarray]:
    mat = cfg.material
    m = mat.paris_m.mean + mat.paris_m.sd * rng.standard_normal(n) if mat.paris_m.sd > 0 else np.full(n, mat.paris_m.mean)
    scale = draw_scatter(cfg.load.scale, rng, n)
    ranges, counts = np.asarray(spectrum.ranges_MPa), np.asarray(spectrum.counts)
    driver = scale**m * (counts[None, :] * ranges[None, :] ** m[:, None]).sum(1)
    params = ReplicaParams(paris_C=draw_scatter(mat.paris_C, rng, n), paris_m=m,
                           initial_flaw_m=draw_scatter(mat.initial_flaw_m, rng, n),
                           critical_m=np.full(n, mat.critical_m), driver_per_block=driver)
    return params, scale


def run_fatigue(cfg: FatigueConfig, *, replicas: int, seed: int) -> FatigueRun:
    """Sample `replicas` details, push them through the horizon's load blocks, in one jitted call."""
    rng_params, rng_load = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    n_blocks = int(math.ceil(cfg.horizon_years * HOURS_PER_YEAR / cfg.block_h))
    record_every = max(1, int(round(cfg.outputs.record_interval_h / cfg.block_h)))
    spectrum = load_spectrum(cfg)
    params, scale = sample_replicas(cfg, spectrum, replicas, rng_params)
    multipliers = block_multipliers(cfg, n_blocks, rng_load)
    geometry = cfg.material.geometry
    if geometry.kind == "constant":
        result = run_constant_Y(params, multipliers, geometry.Y, record_every)
    else:
        from simengine.fatigue.crack_growth import finite_width_edge_crack_Y

        result = run_variable_Y(params, multipliers, finite_width_edge_crack_Y, geometry.width_m, record_every)
    result: BatchResult = jax.device_get(result)
    years_per_block = cfg.block_h / HOURS_PER_YEAR
    n_records = result.crack_m.shape[-1]
    return FatigueRun(
        config=cfg, seed=seed, params=params, load_scale=scale, multipliers=multipliers,
        failure_years=np.asarray(result.failure_block) * years_per_block, status=np.asarray(result.status),
        record_years=np.arange(1, n_records + 1) * record_every * years_per_block,
        crack_m=np.asarray(result.crack_m).T,
    )
