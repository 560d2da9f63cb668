"""The method's thresholds and weights as configuration: one resource, one mapping per step.

Every step's parameters are a frozen dataclass in ``lib/`` whose docstring argues its defaults.
Here an investigation overrides any of them by name (in ``definitions.py``, the Launchpad, or run
config), and an unknown name fails the run with the list of valid ones instead of being ignored.
"""

import dataclasses
from typing import Any, TypeVar

import dagster as dg
from pydantic import Field

T = TypeVar("T")


class MethodSettings(dg.ConfigurableResource):
    """Overrides of the method's parameters, by step (empty: the argued defaults)."""

    directory: dict[str, Any] = Field(default_factory=dict, description="lib.directory.DirectoryParams")
    addresses: dict[str, Any] = Field(default_factory=dict, description="lib.addresses.AddressParams")
    owners: dict[str, Any] = Field(default_factory=dict, description="lib.owners.OwnerParams")
    series: dict[str, Any] = Field(default_factory=dict, description="lib.series.SeriesParams")
    rotation: dict[str, Any] = Field(default_factory=dict, description="lib.rotation.RotationParams")
    photos: dict[str, Any] = Field(default_factory=dict, description="lib.photos.PhotoParams")
    texts: dict[str, Any] = Field(default_factory=dict, description="lib.texts.TextParams")
    links: dict[str, Any] = Field(default_factory=dict, description="lib.links.LinkWeights")
    networks: dict[str, Any] = Field(default_factory=dict, description="lib.networks.NetworkParams")
    billing: dict[str, Any] = Field(default_factory=dict, description="lib.billing.BillingParams")
    red_flags: dict[str, Any] = Field(default_factory=dict, description="lib.red_flags.RedFlagParams")

    def params(self, step: str, cls: type[T]) -> T:
        overrides = dict(getattr(self, step) or {})
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ValueError(f"settings.{step}: unknown parameter(s) {', '.join(unknown)}; "
                             f"{cls.__name__} takes {', '.join(sorted(valid))}")
        return dataclasses.replace(cls(), **overrides)
