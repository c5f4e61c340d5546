"""``signalbench train``: train a learning controller on a network and write its checkpoint."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from signalbench._util import output_file
from signalbench.cli._console import make_console
from signalbench.controllers import registry
from signalbench.errors import SpecError
from signalbench.experiments import MAX_SEED
from signalbench.learning import TrainingRequest, train
from signalbench.networks import canonical_network, resolve_network
from signalbench.runtime import SimOptions

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``train`` command."""
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
    p.add_argument(
        "--episodes",
        type=int,
        metavar="N",
        help="training episodes (default: the controller's, 60 for q-learning)",
    )
    p.add_argument(
        "--seeds", type=int, nargs="+", metavar="SEED", default=None,
        help="training seeds, used in turn (default 1001..1020)",
    )  # fmt: skip
    p.add_argument("--decision-interval-s", type=float, default=5.0, metavar="S")
    p.add_argument("--duration-s", type=float, metavar="S", help="train on the first S seconds of the window")
    p.add_argument("--scale", type=float, default=1.0, help="demand scale factor (SUMO --scale)")
    p.add_argument("--backend", default="libsumo", choices=("libsumo", "traci"))


def _check_numbers(args: argparse.Namespace) -> None:
    """Refuse numbers that make no sense before anything is trained."""
    for flag, value in (
        ("--decision-interval-s", args.decision_interval_s),
        ("--duration-s", args.duration_s),
        ("--scale", args.scale),
    ):
        if value is not None and not 0 < value < math.inf:
            raise SpecError(f"{flag} must be a finite number > 0, got {value}")
    if args.episodes is not None and args.episodes < 1:
        raise SpecError(f"--episodes must be >= 1, got {args.episodes}")
    bad = [s for s in args.seeds or () if not 0 <= s <= MAX_SEED]
    if bad:
        raise SpecError(f"--seeds: seed {bad[0]} is outside 0..{MAX_SEED} (SUMO's 32-bit range)")


def run(args: argparse.Namespace) -> int:
    """Run ``signalbench train``; return the exit status."""
    _check_numbers(args)
    out = output_file(Path(args.out))  # before training: a bad destination loses no work
    controller = registry.canonical_id(args.controller)
    trainable = registry.trainable(controller)
    if trainable is None:
        learners = [e.id for e in registry.entries() if e.trainable is not None]
        raise SpecError(
            f"controller {args.controller!r} does not learn; signalbench train takes {', '.join(learners)}"
        )
    raw: dict[str, Any] = {}
    if args.episodes is not None:
        raw["episodes"] = args.episodes
    if args.seeds:
        raw["seeds"] = list(args.seeds)
    try:
        settings = trainable.training_settings(raw)
    except (TypeError, ValueError) as exc:
        raise SpecError(str(exc)) from exc
    network = canonical_network(args.network)
    request = TrainingRequest(
        controller=controller,
        train=settings.to_dict(),
        network=network,
        scenario=resolve_network(network).shortened(args.duration_s),
        options=SimOptions(backend=args.backend, scale=args.scale),
        decision_interval_s=args.decision_interval_s,
    )
    console = make_console()

    def show(episode: int, record: dict[str, float]) -> None:
        delay = record["mean_delay_s"]
        console.print(
            f"episode {episode + 1}/{settings.episodes}  seed {record['seed']:.0f}  "
            f"epsilon {record['epsilon']:.2f}  reward {record['reward']:.0f}  "
            f"mean delay {'-' if math.isnan(delay) else f'{delay:.1f}'} s/veh",
            highlight=False,
        )

    path = train(request, on_episode=show).save(out)
    seeds = ", ".join(map(str, sorted(set(settings.seeds[: settings.episodes]))))
    console.print(
        f'checkpoint written: {path}  (evaluate with params = {{ {trainable.checkpoint_param} = "{path}" }}; '
        f"trained on seeds {seeds})",
        highlight=False,
    )
    return 0
