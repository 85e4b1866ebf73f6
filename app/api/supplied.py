"""Field resolvers that one domain declares and a domain built on it supplies.

The domains' types point at each other both ways (User.creditBalance and CreditBalance.user,
TimeSlot.appointment and Appointment.timeSlot), but the domain packages of app/api import one
way only: scheduling and credits build on people, appointments on all three. Strawberry's lazy
references (`Annotated["CreditBalanceType", strawberry.lazy(...)]`) take care of a field's
type; a resolver that must *build* an object of a domain above its own cannot import that
domain. So the lower type declares the resolver it needs as a `SuppliedResolver`, and the domain
above supplies the function when it is imported, as node resolvers register with
app/api/nodes.py; app/api/schema.py imports every domain before the first request.
"""

from collections.abc import Awaitable, Callable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_declared: list["SuppliedResolver"] = []


class SuppliedResolver(Generic[P, R]):
    """A resolver of `field` (e.g. "User.creditBalance"), supplied from above with `@supply`."""

    def __init__(self, field: str) -> None:
        self.field = field
        self._resolver: Callable[P, Awaitable[R]] | None = None
        _declared.append(self)

    def supply(self, resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        self._resolver = resolver
        return resolver

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        if self._resolver is None:
            raise RuntimeError(f"Nothing supplies the resolver of {self.field}: the module that "
                               "does is not imported (see app/api/schema.py).")
        return self._resolver(*args, **kwargs)


def check_all_supplied() -> None:
    """Raises if a declared resolver has no supplier: better when the schema is built than on
    the first request that asks for the field."""
    missing = [declared.field for declared in _declared if declared._resolver is None]
    if missing:
        raise RuntimeError(f"Nothing supplies the resolver of {', '.join(missing)}.")
