"""Reinforcement-learning environments: the short import name of :mod:`signalbench.learning`'s.

``from signalbench.rl import SignalEnv, SignalParallelEnv`` (needs ``pip install "signalbench[rl]"``).
Everything here is :mod:`signalbench.learning`'s; see docs/learning.md.
"""

import signalbench.learning as _learning
from signalbench.learning import *  # noqa: F403 - this module is an alias

__all__ = _learning.__all__


def __getattr__(name: str) -> object:
    # SignalEnv and SignalParallelEnv are loaded on first use (they import gymnasium).
    return getattr(_learning, name)
