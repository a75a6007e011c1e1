"""Run a fatigue batch from its configuration: sample replicas (here), solve them (on any pool), summarise.

The toolkit solves in this process or on a pool it is handed (`simengine.batch.pools` opens them);
`simengine.fatigue_cli.executors.run_fatigue` takes executors by name."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from simengine.config.fatigue import FatigueConfig
from simengine.fatigue.batch import DIVERGED, INVALID, STATUS, BatchResult, ReplicaParams
from simengine.scatter import draw_scatter
from simengine.units import HOURS_PER_YEAR


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
        """P(failure by each year) with a pointwise Clopper–Pearson interval over the valid replicas.

        A replica that diverged counts as failed from the start (the conservative reading).
        NaN where no replica is valid.
        """
        valid = self.status != INVALID
        n = int(valid.sum())
        if n == 0:
            nan = np.full(np.shape(years), np.nan)
            return nan, nan, nan
        failed_at = np.where(self.status == DIVERGED, 0.0, self.failure_years)[valid]
        k = np.array([(failed_at <= y).sum() for y in np.atleast_1d(years)])
        alpha = 1.0 - confidence
        lower = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        upper = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
        return k / max(n, 1), lower, upper

    def median_life_years(self) -> float:
        """Median time to failure; inf when fewer than half fail within the horizon."""
        valid = self.failure_years[self.status != INVALID]
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
        # the recorded span's counts, scaled to one block at the recorded activity's share of the time
        return spectrum.repeated(cfg.block_h * h.duty_fraction)
    lifts = load.crane_lifts
    per_block = lifts.lifts_per_h * lifts.operating_hours_per_year / HOURS_PER_YEAR * cfg.block_h
    ranges = lifts.stress_per_t_MPa * np.asarray(lifts.load_classes_t)
    return LoadSpectrum(ranges_MPa=ranges, means_MPa=ranges / 2.0, counts=per_block * np.asarray(lifts.load_probs),
                        block_h=cfg.block_h, source="crane_lifts")


def block_lengths(cfg: FatigueConfig) -> np.ndarray:
    """Each block's length as a fraction of block_h: all 1 but a shorter last one ending at the horizon."""
    horizon_h = cfg.horizon_years * HOURS_PER_YEAR
    n = int(math.ceil(horizon_h / cfg.block_h - 1e-9))
    lengths = np.ones(n)
    lengths[-1] = horizon_h / cfg.block_h - (n - 1)
    return lengths


def block_multipliers(cfg: FatigueConfig, lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shared load history: the annual swing of the cycle count averaged over each block, times
    Gamma(mean 1, cv) traffic, times the block's length (the last block may be partial)."""
    start_h = np.concatenate([[0.0], np.cumsum(lengths)[:-1]]) * cfg.block_h
    end_h = start_h + lengths * cfg.block_h
    w = 2.0 * np.pi / HOURS_PER_YEAR
    season = 1.0 + cfg.load.seasonal_amplitude * (np.cos(w * start_h) - np.cos(w * end_h)) / (w * (end_h - start_h))
    cv = cfg.load.traffic_cv
    traffic = rng.gamma(1.0 / cv**2, cv**2, lengths.size) if cv > 0 else np.ones(lengths.size)
    return season * traffic * lengths


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


@dataclass(frozen=True)
class FatigueSample:
    """What a batch draws, in the driver: every replica's parameters and the shared load history.
    The rest of the batch is a pure function of it (`simengine.fatigue.solve`)."""

    params: ReplicaParams  # numpy arrays over replicas
    load_scale: np.ndarray
    multipliers: np.ndarray  # (n_blocks,)
    lengths: np.ndarray  # (n_blocks,) in units of block_h
    record_every: int  # blocks per record span


def sample_batch(cfg: FatigueConfig, *, replicas: int, seed: int, spectrum=None) -> FatigueSample:
    """Draw `replicas` details and one load history from `seed`. `spectrum` (a LoadSpectrum per block)
    defaults to `load_spectrum(cfg)`. A few numbers per replica: cheap, and the same on every executor."""
    rng_params, rng_load = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    lengths = block_lengths(cfg)
    record_every = min(max(1, int(round(cfg.outputs.record_interval_h / cfg.block_h))), lengths.size)
    spectrum = load_spectrum(cfg) if spectrum is None else spectrum
    params, scale = sample_replicas(cfg, spectrum, replicas, rng_params)
    return FatigueSample(params, scale, block_multipliers(cfg, lengths, rng_load), lengths, record_every)


def run_fatigue(cfg: FatigueConfig, *, replicas: int, seed: int, spectrum=None, executor=None,
                chunk: int | None = None, progress: bool = False, on_chunk=None) -> FatigueRun:
    """Sample `replicas` details, push them through the horizon's load blocks.

    `spectrum` (a LoadSpectrum per block) defaults to `load_spectrum(cfg)`.
    `executor`: None or "serial" (one jitted call here, unless `chunk`), or an
    open pool: anything with `workers` and `imap(fn, tasks)` yielding (task
    index, result), such as `simengine.batch.pools.open_pool("processes")`;
    executors by name: `simengine.fatigue_cli.executors.run_fatigue`. Bitwise
    the same result on every executor, worker count and `chunk` (replicas per
    task; None: a few tasks per worker). `on_chunk` is called after each
    finished chunk.
    """
    from simengine.fatigue.solve import InProcess, solve_on

    if executor not in (None, "serial") and not hasattr(executor, "imap"):
        raise ValueError(f"executor = {executor!r}: must be None, 'serial' or an open pool (with imap); "
                         "for executors by name use simengine.fatigue_cli.executors.run_fatigue")
    pool = InProcess() if executor in (None, "serial") else executor
    sample = sample_batch(cfg, replicas=replicas, seed=seed, spectrum=spectrum)
    result = solve_on(pool, cfg.material.geometry, sample.params, sample.multipliers, sample.record_every,
                      chunk=chunk, progress=progress, on_chunk=on_chunk)
    return assemble(cfg, seed, sample, result)


def assemble(cfg: FatigueConfig, seed: int, sample: FatigueSample, result: BatchResult) -> FatigueRun:
    """The batch's FatigueRun from its sample and its solved replicas (arrays in replica order)."""
    lengths, record_every = sample.lengths, sample.record_every
    years_per_block = cfg.block_h / HOURS_PER_YEAR
    n_records = result.crack_m.shape[-1]
    edges = np.concatenate([[0.0], np.cumsum(lengths)])  # block boundaries in units of block_h
    record_blocks = np.minimum(np.arange(1, n_records + 1) * record_every, lengths.size)
    return FatigueRun(
        config=cfg, seed=seed, params=sample.params, load_scale=sample.load_scale, multipliers=sample.multipliers,
        failure_years=_blocks_to_years(np.asarray(result.failure_block), lengths, edges) * years_per_block,
        status=np.asarray(result.status), record_years=edges[record_blocks] * years_per_block,
        crack_m=np.asarray(result.crack_m).T,
    )


def _blocks_to_years(failure_block: np.ndarray, lengths: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fractional block index -> time in units of block_h (a partial last block is shorter)."""
    finite = np.isfinite(failure_block)
    n = np.clip(np.floor(np.where(finite, failure_block, 0)).astype(int), 0, lengths.size - 1)
    t = edges[n] + (np.where(finite, failure_block, 0) - n) * lengths[n]
    return np.where(finite, t, failure_block)
