"""Asset checks that run inside their asset's step (Dagster's ``check_specs``), on its connection.

A check is a rule over the asset's table(s) (``checks.py`` of each group says which). Declared with
:func:`asset_check` it becomes a :class:`Check`: the asset lists it in ``check_specs=specs(...)`` and,
once its writes are committed, returns ``check_results=results(...)`` from the same connection. The UI
shows every check under its asset as before (passed, failed, blocking or not, with the failing rows).

Why not one ``@asset_check`` step each: a step costs a process-level set-up, a database open and a
handful of events in Dagster's storage (~0.2 s each on 2 cores); 19 checks were a sixth of a small
run. A blocking check still stops everything downstream of its asset when it fails.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dagster as dg
import duckdb

from adnet_assets.defs.resources import AdnetData

Evaluate = Callable[[AdnetData, duckdb.DuckDBPyConnection], dg.AssetCheckResult]


@dataclass(frozen=True)
class Check:
    asset: str
    name: str
    description: str
    evaluate: Evaluate
    blocking: bool = False

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=self.asset, description=self.description, blocking=self.blocking)

    def run(self, adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
        result = self.evaluate(adnet, con)
        return dg.AssetCheckResult(asset_key=dg.AssetKey(self.asset), check_name=self.name, passed=result.passed,
                                   severity=result.severity, metadata=result.metadata, description=result.description)


def asset_check(asset: str, *, description: str, blocking: bool = False) -> Callable[[Evaluate], Check]:
    """Declare ``fn(adnet, con) -> AssetCheckResult`` as a check of ``asset``, named after the function."""
    def declare(fn: Evaluate) -> Check:
        return Check(asset=asset, name=fn.__name__, description=description, evaluate=fn, blocking=blocking)
    return declare


def specs(*checks: Check) -> list[dg.AssetCheckSpec]:
    return [c.spec for c in checks]


def results(checks: Iterable[Check], adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> list[dg.AssetCheckResult]:
    """Every check's result, on ``con`` (the asset's own connection, after its writes are committed)."""
    return [c.run(adnet, con) for c in checks]
