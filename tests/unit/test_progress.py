"""The progress display: counts, failures (also after a retry) and throughput."""

import io

from rich.console import Console

from signalbench.cli._run import _Progress
from signalbench.experiments import TrialResult, TrialSpec


def result(seed, state="complete", attempt=1):
    spec = TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=seed)
    return TrialResult(trial_id=spec.trial_id, spec=spec, state=state, attempt=attempt, sim_time_s=3600.0,
                       error=None if state == "complete" else "boom")  # fmt: skip


def test_progress_bar_counts_and_reports_failures():
    out, err = io.StringIO(), io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    errors = Console(file=err, width=200)
    progress = _Progress(console, errors, "exp", total=4, quiet=False)
    progress.skip(1)
    progress(result(1))
    progress(result(2, "failed"))
    task = progress.bar.tasks[0]
    assert task.completed == 3 and task.fields["failed"] == 1
    assert task.fields["rate"].endswith("sim-s/s")
    progress(result(2, "complete", attempt=2))  # a retry that succeeded: no longer failed
    assert progress.bar.tasks[0].fields["failed"] == 0
    progress.stop()
    assert "failed" in err.getvalue() and "boom" in err.getvalue()
    assert progress.sim_s == 3 * 3600.0


def test_quiet_mode_prints_one_line():
    out = io.StringIO()
    progress = _Progress(Console(file=out), Console(file=io.StringIO()), "exp", total=2, quiet=True)
    progress(result(1))
    progress.stop()
    assert out.getvalue().strip() == "exp: 2 trials"
