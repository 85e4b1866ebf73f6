"""The faults of a run, drawn from its seed before it starts, so a run can be replayed."""

import random
from dataclasses import dataclass

KINDS = ("kill server", "kill worker", "stop postgres", "pause server")


@dataclass(frozen=True)
class Fault:
    at: float  # seconds into the run
    kind: str
    target: int  # which server or worker (0 or 1); unused for PostgreSQL
    seconds: float  # how long it stays down or paused

    def __str__(self) -> str:
        target = "" if self.kind == "stop postgres" else f" #{self.target + 1}"
        return f"{self.at:6.1f}s  {self.kind}{target}, {self.seconds:.1f}s"


def draw(seed: int, seconds: float, *, every: tuple[float, float] = (4.0, 9.0)) -> list[Fault]:
    """Faults one after another until `seconds - 10` (the last seconds run clean); each kind
    at least once, in a random order, then any."""
    rng = random.Random(seed)
    first = list(KINDS)
    rng.shuffle(first)
    faults, at = [], rng.uniform(*every)
    while at < seconds - 10:
        kind = first.pop() if first else rng.choice(KINDS)
        down = {"kill server": (0.3, 2.0), "kill worker": (0.3, 2.0),
                "stop postgres": (1.0, 4.0), "pause server": (2.0, 5.0)}[kind]
        fault = Fault(round(at, 1), kind, rng.randrange(2), round(rng.uniform(*down), 1))
        faults.append(fault)
        at += fault.seconds + rng.uniform(*every)
    return faults
