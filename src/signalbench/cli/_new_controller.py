"""``signalbench new-controller``: a documented controller skeleton and a test using the kit."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``new-controller`` command."""
    p = sub.add_parser(
        "new-controller",
        help="write a documented controller skeleton and a test using the conformance kit",
        description="Write DIR/NAME.py (a working, documented controller) and TESTS/test_NAME.py.",
    )
    p.add_argument("name", metavar="NAME", help="controller name, e.g. my-policy (file my_policy.py)")
    p.add_argument("--dir", type=Path, default=Path("controllers"), help="where the controller goes")
    p.add_argument("--tests-dir", type=Path, default=Path("tests"), help="where its test goes")


def run(args: argparse.Namespace) -> int:
    """Run ``signalbench new-controller``; return the exit status."""
    from signalbench.cli._scaffold import new_controller

    made = new_controller(args.name, directory=args.dir, tests_directory=args.tests_dir)
    print(f"wrote {made.controller_file} (class {made.class_name}) and {made.test_file}")
    print("next:")
    print(f"  python -m pytest {made.test_file}")
    print(f"  signalbench run --network cologne3 --controller {made.reference} --controller fixed-time")
    print(f"  signalbench watch --network cologne3 --controller {made.reference}")
    return 0
