"""Warm report workers on a Dask cluster (private; used by :func:`mognad.report.batch.run_batch`).

:class:`WarmReportWorkers` is a Dask worker plugin: when a batch registers it, every Dask worker
starts its own warm report worker processes (the same :class:`~mognad.report._executor.WarmPool`
a local batch uses) and prepares them for the batch's notebook and study, in the background, so
that the first reports on each Dask worker find pandas, matplotlib, the notebook's modules and the
study's per-batch data already loaded.
"""

from __future__ import annotations

import contextlib
import threading

from distributed import WorkerPlugin


class WarmReportWorkers(WorkerPlugin):
    """Start and prepare warm report workers on each Dask worker.

    Parameters
    ----------
    spec : dict
        One report spec of the batch (its notebook and parameters say what to preload).
    engine : str
        ``"fast"`` (warm forked notebooks) or ``"papermill"``.
    """

    name = "mognad-warm-report-workers"

    def __init__(self, spec: dict, engine: str = "fast") -> None:
        self.spec = {k: spec[k] for k in ("notebook", "parameters")}
        self.engine = engine

    def setup(self, worker) -> None:
        if self.engine != "fast":
            return
        from mognad.report import _executor

        slots = max(1, int(getattr(getattr(worker, "state", None), "nthreads", 1) or 1))
        pool = _executor.shared_pool("fast", min_workers=slots)

        def start() -> None:
            futures = [pool.submit(_executor.prepare, self.spec) for _ in range(slots)]
            for future in futures:
                with contextlib.suppress(Exception):  # warming is only an optimisation
                    future.result()

        threading.Thread(target=start, daemon=True, name="mognad-warm-up").start()
