"""Continuous calibration: re-fit on a rolling window as readings stream in, and track the hidden crack.

Rows reach the `Tracker` as the recorder writes them (`Recorder(on_rows=...)`), whatever the source:
the virtual PLC stepped here, a live Modbus or OPC UA link, or a recording replayed. Then

- every `refit_every_s` (model time) the chosen parameters are re-fitted to the last `window_s` of
  readings, starting from the previous answer; a window the fit refuses (too little data, all bad)
  is recorded with its reason, not raised;
- every `feature_s` the crack filter (`crack_filter.CrackFilter`) steps the Paris law over the
  elapsed time under the duty's mean driver and conditions on the mean natural frequency of the
  readings since its last step (variance σ²/n, σ the latest fit's noise estimate);
- at the end, posterior samples of (crack, C) go through the fatigue batch (`rul.remaining_life`)
  for the remaining-life distribution.

Times are model seconds: a clock tag's values where the readings carry one, else arrival times
scaled by `time_factor`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from simengine.calibration.baseline import baseline
from simengine.calibration.clock import clock_join
from simengine.calibration.collect import clock_index, collect, tagmap_of, virtual_source
from simengine.calibration.crack_filter import CrackFilter, CrackFilterConfig
from simengine.calibration.fit import Calibration, FitSpec, fit
from simengine.calibration.rul import RemainingLife, remaining_life
from simengine.calibration.heating import steady_load_s
from simengine.calibration.window import align, clock_times, repeated_scans, tag_gains, tags_of
from simengine.config.calibrate import CalibrateConfig
from simengine.config.scenario import ScenarioConfig
from simengine.config.validate import ConfigError, Problem
from simengine.kinds.registry import kind_of
from simengine.plc.readings import Quality
from simengine.units import HOURS_PER_YEAR


@dataclass
class Refit:
    t_s: float
    calibration: Calibration | None
    reason: str = ""  # why a window was not fitted


@dataclass
class Tracking:
    """What a continuous run learnt: the refits, the crack track, the remaining life."""

    refits: list[Refit]
    track_t_s: np.ndarray  # (k,) model s of each filter step
    track: np.ndarray  # (k, 3) filter mean [crack_m, ln C, offset] after each step
    track_sd: np.ndarray  # (k, 3)
    crack_filter: CrackFilter | None
    life: RemainingLife | None
    calibration: Calibration  # the last successful refit
    truth_crack_m: np.ndarray | None = None  # the virtual PLC's hidden crack at each step, where known
    notes: list[str] = field(default_factory=list)
    clock_breaks: int = 0  # jumps of the PLC's clock (restarts), joined by arrival time

    def arrays(self) -> dict[str, dict[str, np.ndarray]]:
        """Groups for the HDF5 file: the refits' values over time, the crack track, the life samples."""
        fitted = [r for r in self.refits if r.calibration is not None]
        out = {"refits": {"t_s": np.array([r.t_s for r in fitted]),
                          "values": np.array([r.calibration.values for r in fitted]),
                          "sd": np.array([r.calibration.sd for r in fitted]),
                          "names": np.array(self.calibration.names)}}
        if self.track_t_s.size:
            out["crack_track"] = {"t_s": self.track_t_s, "crack_m": self.track[:, 0], "crack_sd_m": self.track_sd[:, 0],
                                  "ln_paris_C": self.track[:, 1], "ln_paris_C_sd": self.track_sd[:, 1]}
        if self.life is not None:
            out["remaining_life"] = {"hours": self.life.hours, "status": self.life.status}
        return out

    def fatigue_overrides(self) -> dict | None:
        """`simengine fatigue` overrides from the filter's posterior: this joint's C and crack now
        (none where the filter never saw a reading: that would be its prior passed off as a finding)."""
        if self.crack_filter is None or self.life is None:
            return None
        f = self.crack_filter
        cv = float(np.sqrt(np.expm1(f.ln_paris_C_sd**2)))
        return {"material.paris_C.median": f.paris_C, "material.paris_C.cv": cv,
                "material.initial_flaw_m.median": f.crack_m,
                "material.initial_flaw_m.cv": f.crack_sd_m / f.crack_m}

    def summary_text(self) -> str:
        fitted = sum(r.calibration is not None for r in self.refits)
        rows = [f"continuous: {len(self.refits)} re-fits ({fitted} fitted), {self.track_t_s.size} crack-filter steps"
                + (f"; the PLC's clock jumped {self.clock_breaks} times (segments joined by arrival time)"
                   if self.clock_breaks else "")]
        rows += [f"  re-fit at {r.t_s:.0f} s refused: {r.reason}" for r in self.refits if r.calibration is None][:5]
        if self.crack_filter is not None and self.life is not None:
            f = self.crack_filter
            rows.append(f"crack now {1e3 * f.crack_m:.3f} ± {1e3 * f.crack_sd_m:.3f} mm (1 sd); Paris C {f.paris_C:.3g} "
                        f"(ln sd {f.ln_paris_C_sd:.3f})")
        if self.life is not None:
            q = self.life.quantiles() / 24.0
            rows.append(f"remaining life, days: 5 % {q[0]:.1f}, median {q[1]:.1f}, 95 % {q[2]:.1f}; "
                        f"survives the {self.life.horizon_h / HOURS_PER_YEAR:g}-year horizon: {self.life.survives:.1%}")
        rows += [f"note: {n}" for n in self.notes]
        return "\n".join(rows)

    def plot(self, folder: Path) -> list[Path]:
        from simengine.calibration.plots import plot_crack_track, plot_remaining_life

        paths = []
        if self.track_t_s.size:
            paths.append(plot_crack_track(self.track_t_s / 3600.0, self.track[:, 0], self.track_sd[:, 0],
                                          Path(folder) / "crack_track.png", truth_m=self.truth_crack_m))
        if self.life is not None:
            paths.append(plot_remaining_life(self.life.hours, Path(folder) / "remaining_life.png"))
        return paths


class Tracker:
    """Consumes reading rows (time_s, values (k, n_tags), quality (k, n_tags)) of one recording."""

    def __init__(self, cfg: CalibrateConfig, scenario: ScenarioConfig, spec: FitSpec, tags, *, baseline_for,
                 clock: int | None, truth=None):
        self.cfg, self.scenario, self.spec = cfg, scenario, spec
        self.notes: list[str] = []
        self.tags, self.gains = tags, tag_gains(tags, scenario.fleet.sensors)
        self.clock, self.baseline_for, self.truth = clock, baseline_for, truth
        self.join = clock_join(tags[clock], fallback_rate=cfg.time_factor) if clock is not None else None
        cont = cfg.continuous
        fleet = scenario.fleet
        self.steady_load_s = steady_load_s(fleet)
        self.freq_cols = np.array([j for j, t in enumerate(tags) if t.asset == cfg.asset and t.quantity == "natural_frequency_hz"])
        self.freq_gain = np.array([self.gains[tags[j].name] for j in self.freq_cols]) if self.freq_cols.size else np.ones(0)
        self.filter = None
        kind = kind_of(fleet)
        driver = kind.crack_driver(kind.settings(fleet.duty), fleet.crack.paris_m)
        if self.freq_cols.size and driver is not None:  # a crack is tracked where the kind knows its driver
            crack0 = cont.initial_crack_m if cont.initial_crack_m is not None else fleet.crack.initial_flaw_m.median
            self.filter = CrackFilter(CrackFilterConfig.for_fleet(fleet, initial_crack_m=crack0,
                                                                  initial_crack_sd_m=cont.initial_crack_sd_m,
                                                                  natural_frequency_sd_hz=cont.f0_sd_hz))
            self.driver_per_s = driver.per_s
            if "natural_frequency_hz" in spec.parameters:
                # a frequency alone cannot tell a lower f0 from a deeper crack: the filter owns the frequency
                self.spec = replace(spec, parameters=tuple(n for n in spec.parameters if n != "natural_frequency_hz"),
                                    initial={k: v for k, v in spec.initial.items() if k != "natural_frequency_hz"})
                self.notes.append(f"natural_frequency_hz is not re-fitted while the crack filter tracks the crack: the "
                                  f"filter takes f0 = {fleet.vibration.natural_frequency_hz:g} Hz from the scenario "
                                  "(calibrate the uncracked joint first and pass calibration=<params.yaml>)")
        self.updates = 0
        self._previous = None  # the last row taken, (values, quality), to tell a repeated scan
        self._pooled_ss, self._pooled_dof = 0.0, 0
        self.t0 = None
        self.rows: deque[tuple[float, np.ndarray, np.ndarray]] = deque()  # the rolling window
        self.refits: list[Refit] = []
        self.last_refit = self.last_feature = None
        self.feature = []  # frequency readings (physical) since the filter's last step
        self.track_t, self.track, self.track_sd, self.truth_track = [], [], [], []

    def _model_time(self, time_s, values, quality):
        if self.clock is not None:  # the PLC's scan times, joined across its restarts
            clock, ok = clock_times(values, quality, self.clock)
            model = np.full(len(clock), np.nan)
            model[ok] = self.join(np.asarray(time_s, float)[ok], clock[ok])
            return model, ok
        if self.t0 is None:
            self.t0 = float(time_s[0])
        return (np.asarray(time_s) - self.t0) * self.cfg.time_factor, np.ones(len(time_s), bool)

    @property
    def _last_fit(self) -> Calibration | None:
        return next((r.calibration for r in reversed(self.refits) if r.calibration is not None), None)

    def add_rows(self, time_s, values, quality) -> None:
        values, quality = np.asarray(values, float), np.asarray(quality)
        t, ok = self._model_time(time_s, values, quality)
        t, values, quality = t[ok], values[ok], quality[ok]
        if not t.size:
            return
        # the same PLC scan polled twice is one reading, not two (also across batches)
        with_last = (np.concatenate([self._previous[0][None], values]), np.concatenate([self._previous[1][None], quality])) \
            if self._previous is not None else (values, quality)
        repeated = repeated_scans(*with_last)[-len(t):]
        self._previous = (values[-1], quality[-1])
        for k in np.flatnonzero(~repeated):
            self._add(float(t[k]), values[k], quality[k])

    def _add(self, t: float, values, quality) -> None:
        if self.last_refit is None:
            self.last_refit = self.last_feature = t
        self.rows.append((t, values, quality))
        while self.rows[0][0] < t - self.cfg.continuous.window_s:
            self.rows.popleft()
        if self.filter is not None:
            good = (quality[self.freq_cols] == Quality.GOOD) & np.isfinite(values[self.freq_cols])
            self.feature.extend((values[self.freq_cols] / self.freq_gain)[good])
            if t - self.last_feature >= self.cfg.continuous.feature_s * (1 - 1e-9):
                self._filter_step(t)
        if t - self.last_refit >= self.cfg.continuous.refit_every_s * (1 - 1e-9):
            self._refit(t)

    def _filter_step(self, t: float) -> None:
        dt = t - self.last_feature
        self.filter.predict(dt, self.driver_per_s * dt)
        if len(self.feature) >= 2:  # the spread within feature windows, pooled until a fit estimates the noise
            self._pooled_ss += float(np.var(self.feature) * len(self.feature))
            self._pooled_dof += len(self.feature) - 1
        sigma = self._frequency_noise()
        if self.feature and sigma is not None and sigma > 0:  # no noise estimate yet: predict only
            self.filter.update(float(np.mean(self.feature)), sigma**2 / len(self.feature))
            self.updates += 1
        self.feature, self.last_feature = [], t
        self.track_t.append(t)
        self.track.append(self.filter.mean)
        self.track_sd.append(np.sqrt(np.diag(self.filter.covariance)))
        if self.truth is not None:
            self.truth_track.append(self.truth())

    def _frequency_noise(self) -> float | None:
        """One reading's sd: the latest fit's model-free estimate, else the spread within the feature windows
        so far, pooled once it has 30 degrees of freedom (a spread of four readings can be ten times too
        small, and the filter would believe it); None until then, and the filter only predicts."""
        last = self._last_fit
        if last is not None and "natural_frequency_hz" in last.noise_sd:
            return last.noise_sd["natural_frequency_hz"]
        return float(np.sqrt(self._pooled_ss / self._pooled_dof)) if self._pooled_dof >= 30 else None

    def _refit(self, t: float) -> None:
        self.last_refit = t
        try:
            t_s, values, quality = (np.array(column) for column in zip(*self.rows))
            w = align(t_s, values, quality, self.tags, self.gains, asset=self.cfg.asset, needed=self.spec.needed_quantities(),
                      steady_load_s=self.steady_load_s)
            crack = self.filter.crack_m if self.filter is not None else None
            last = self._last_fit
            spec = self.spec if last is None else replace(self.spec, initial={**dict(zip(last.names, last.values.tolist())),
                                                                                **self.spec.initial})
            self.refits.append(Refit(t, fit(w, spec, self.baseline_for(w, crack))))
        except ConfigError as err:
            self.refits.append(Refit(t, None, str(err).splitlines()[-1].strip(" -")))
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:  # one odd window must not end a live run
            self.refits.append(Refit(t, None, f"{type(err).__name__}: {err}"))

    def finish(self, rng: np.random.Generator) -> Tracking:
        if self.join is not None:
            self.join.check()
        if self.rows and self.rows[-1][0] > self.last_refit:
            self._refit(self.rows[-1][0])
        fitted = [r.calibration for r in self.refits if r.calibration is not None]
        if not fitted:
            reasons = "; ".join(sorted({r.reason for r in self.refits})) or "no readings"
            raise ConfigError([Problem("continuous", f"{len(self.refits)} windows", f"no window could be fitted: {reasons}")])
        life, notes = None, list(self.notes)
        if self.filter is not None and self.updates == 0:
            notes.append("the crack filter saw no frequency feature (a window shorter than continuous.feature_s?): "
                         "no crack estimate, no remaining life")
        elif self.filter is not None:
            # the first updates test the prior: a frequency far from f0·√k(prior crack) means f0 is wrong (or the
            # prior crack), which the filter could only read as a crack that appeared overnight
            fc = self.filter.config
            notes.append(f"the crack estimate is conditional on the uncracked joint's f0 = {fc.natural_frequency_hz:g} "
                         f"± {fc.natural_frequency_sd_hz:g} Hz: a frequency alone cannot tell a lower f0 from a deeper "
                         "crack, so a wrong f0 is read as a crack")
            first = self.filter.innovations[:5]
            if max(first) > 25.0:
                notes.append(f"the first frequency features lie {np.sqrt(max(first)):.0f} sd from what the filter "
                             f"expected: the f0 it was given ({self.filter.config.natural_frequency_hz:g} Hz) or the "
                             "prior crack does not fit these readings, and the crack estimate is not to be trusted; "
                             "calibrate f0 first (calibration=<params.yaml>)")
            fleet, cont = self.scenario.fleet, self.cfg.continuous
            a, C = self.filter.posterior_samples(cont.rul_samples, rng)
            critical = next((f.limit for f in fleet.physics_failures if f.quantity == "crack_m"), fleet.crack.section_depth_m)
            life = remaining_life(a, C, paris_m=fleet.crack.paris_m, geometry_Y=fleet.crack.geometry_Y, critical_m=critical,
                                  driver_per_h=self.driver_per_s * 3600.0, horizon_h=cont.rul_horizon_years * HOURS_PER_YEAR,
                                  traffic_cv=self.filter.config.driver_cv, rng=rng)
        else:
            notes.append("no crack filter: the readings hold no natural-frequency tag of the asset (or no lift duty)")
        k = len(self.track_t)
        return Tracking(refits=self.refits, track_t_s=np.array(self.track_t), track=np.array(self.track).reshape(k, 3),
                        track_sd=np.array(self.track_sd).reshape(k, 3), crack_filter=self.filter, life=life,
                        calibration=fitted[-1], truth_crack_m=np.array(self.truth_track) if self.truth_track else None,
                        notes=notes, clock_breaks=self.join.breaks if self.join is not None else 0)


class _BesideTheLink:
    """Hands rows to `consume` on a worker thread, in order, so a re-fit never stalls the polls."""

    def __init__(self, consume):
        import queue
        import threading

        self.consume, self.queue = consume, queue.Queue()
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.error = None

    def _work(self):
        while (rows := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.consume(*rows)
                except BaseException as err:  # raised in the caller's thread at the end
                    self.error = err

    def __call__(self, time_s, values, quality):
        self.queue.put((np.array(time_s), np.array(values), np.array(quality)))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


def run_continuous(cfg: CalibrateConfig, scenario: ScenarioConfig, spec: FitSpec, path: Path, *, config: dict) -> Tracking:
    """Collect (or replay) readings into `path`, feeding a Tracker as rows are written."""
    from simengine.calibration.sources import record_virtual

    truth = None
    if cfg.source == "hdf5":
        recording = collect(cfg, scenario, path)
        tags = tags_of(recording)
    elif cfg.source == "virtual":
        source = virtual_source(cfg, scenario)
        tags = list(source.tagmap().tags)
        truth = lambda: float(source.truth()["crack_m"][0])  # noqa: E731 — the hidden crack, for plots and tests
    else:
        tags = list(tagmap_of(cfg, scenario).tags)
    tracker = Tracker(cfg, scenario, spec, tags, clock=clock_index([t.quantity for t in tags], [t.name for t in tags],
                                                                   cfg.clock_tag),
                      truth=truth, baseline_for=lambda w, crack: baseline(scenario, w, initial_crack_m=crack))
    if cfg.source == "hdf5":  # a recording replayed, row by row in time order
        tracker.add_rows(recording.time_s, recording.values, recording.quality)
    elif cfg.source == "virtual":
        record_virtual(source, path, duration_s=cfg.duration_s, rate_hz=cfg.rate_hz, config=config,
                       on_rows=tracker.add_rows, flush_every=1)
    else:  # a live link: fits run beside the event loop that polls, never inside it
        with _BesideTheLink(tracker.add_rows) as feed:
            collect(cfg, scenario, path, config=config, on_rows=feed)
    if not tracker.rows:
        raise ConfigError([Problem("readings", str(path), "no readings arrived")])
    return tracker.finish(np.random.default_rng(cfg.virtual.seed))
