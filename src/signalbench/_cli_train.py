"""``signalbench train``: train a learning controller on a network and write its checkpoint."""

from __future__ import annotations

import argparse
import math

from signalbench._cli_run import make_console
from signalbench.controllers import registry
from signalbench.controllers.q_learning import TrainSettings
from signalbench.errors import SpecError
from signalbench.experiments._trial import TrialSpec
from signalbench.networks import canonical_network
from signalbench.signals import SignalTiming

__all__ = ["add_train_parser", "cmd_train"]


def add_train_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``train`` subcommand."""
    p = sub.add_parser(
        "train",
        help="train a learning controller (q-learning) and write its checkpoint",
        description=(
            "Train q-learning on a network (one table per traffic light) and write a JSON checkpoint,\n"
            'to evaluate with params = { checkpoint = "FILE" } in an experiment. Use training seeds\n'
            "that the evaluation does not use."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("controller", help="the learning controller: q-learning")
    p.add_argument("--network", required=True, metavar="ID|PATH", help="catalog id or .sumocfg path")
    p.add_argument("--out", required=True, metavar="FILE", help="checkpoint file to write (.json)")
    p.add_argument("--episodes", type=int, default=TrainSettings.episodes, metavar="N")
    p.add_argument(
        "--seeds", type=int, nargs="+", metavar="SEED", default=None,
        help="training seeds, used in turn (default 1001..1020)",
    )  # fmt: skip
    p.add_argument("--decision-interval-s", type=float, default=5.0, metavar="S")
    p.add_argument("--duration-s", type=float, metavar="S", help="train on the first S seconds of the window")
    p.add_argument("--scale", type=float, default=1.0, help="demand scale factor (SUMO --scale)")
    p.add_argument("--backend", default="libsumo", choices=("libsumo", "traci"))


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``signalbench train``; return the exit status."""
    from signalbench.experiments._training import train_for_trial

    if registry.canonical_id(args.controller) != "q-learning-v0":
        raise SpecError(f"controller {args.controller!r} does not learn; signalbench train takes q-learning")
    settings: dict[str, object] = {"episodes": args.episodes}
    if args.seeds:
        settings["seeds"] = list(args.seeds)
    try:
        checked = TrainSettings(**settings)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SpecError(str(exc)) from exc
    spec = TrialSpec(
        network=canonical_network(args.network),
        controller="q-learning-v0",
        params={"train": checked.to_dict()},
        seed=0,
        timing=SignalTiming(),
        decision_interval_s=args.decision_interval_s,
        duration_s=args.duration_s,
        scale=args.scale,
        backend=args.backend,
    )
    console = make_console()

    def show(episode: int, record: dict[str, float]) -> None:
        delay = record["mean_delay_s"]
        console.print(
            f"episode {episode + 1}/{checked.episodes}  seed {record['seed']:.0f}  "
            f"epsilon {record['epsilon']:.2f}  reward {record['reward']:.0f}  "
            f"mean delay {'-' if math.isnan(delay) else f'{delay:.1f}'} s/veh",
            highlight=False,
        )

    tables = train_for_trial(spec, on_episode=show)
    path = tables.save(args.out)
    console.print(
        f'checkpoint written: {path}  (evaluate with params = {{ checkpoint = "{path}" }}; '
        f"trained on seeds {', '.join(map(str, sorted(set(checked.seeds[: checked.episodes]))))})",
        highlight=False,
    )
    return 0
