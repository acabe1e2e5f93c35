"""What the kinds whose targets are named in one config key share: resources of one service in
`autoscaler_region`, which every matching cluster holds, whatever tables it backs up (an
EventBridge rule, an Auto Scaling group). Keys: `PREFIX` + `REGION/NAME`."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..model import EVERY_TABLE, Scope
from .kind import Context, Eager

if TYPE_CHECKING:
    from ..aws import Aws
    from ..config import Config


class NamedInAutoscalerRegion(Eager):
    """A kind of target named in the config key `NAMES` (a list), in `autoscaler_region`, read
    and written with a client of `SERVICE`. A subclass brings its prefix, its keys, its label
    and how it reads and writes its targets."""

    PREFIX: str
    NAMES: str  # the config key that names its targets
    SERVICE: str  # botocore's name of the service its client is made for
    parallel = False  # the autoscaler itself: stopped first, before its tables

    def __init__(self, client: Any, region: str, names: Sequence[str], managed: bool = True):
        self.client, self.region_name, self.names, self.managed = client, region, names, managed

    # --- the config --------------------------------------------------------------------------

    @classmethod
    def given(cls, values: Mapping[str, Any], given: Collection[str]) -> bool:
        """Names are listed (or a list was given that is wrong, and reported)."""
        return bool(values.get(cls.NAMES)) or (cls.NAMES in given and cls.NAMES not in values)

    @classmethod
    def check(cls, values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
        if not complete or not values.get(cls.NAMES) or "autoscaler_region" in given:
            return []
        return [
            f"autoscaler_region: required with {cls.NAMES} (set it in the config file or "
            "AUTOSCALER_REGION)"
        ]

    @classmethod
    def configured_in(cls, config: Config) -> bool:
        return bool(getattr(config, cls.NAMES))

    @staticmethod
    def scopes(config: Config) -> tuple[Scope, ...]:
        return (EVERY_TABLE,)

    @staticmethod
    def home_region(config: Config) -> str | None:
        return config.autoscaler_region

    @staticmethod
    def default_name(config: Config) -> str | None:
        return None

    @classmethod
    def build(cls, config: Config, aws: Aws, context: Context) -> list[Any]:
        region = config.autoscaler_region or ""
        return [cls(aws.client(cls.SERVICE, region), region, getattr(config, cls.NAMES))]

    # --- the facts of its keys ---------------------------------------------------------------

    @classmethod
    def key_of(cls, region: str, name: str) -> str:
        return f"{cls.PREFIX}{region}/{name}"

    @classmethod
    def parts(cls, key: str) -> tuple[str, str]:
        """REGION and NAME of a key."""
        region, name = key.removeprefix(cls.PREFIX).split("/", 1)
        return region, name

    @classmethod
    def region(cls, key: str) -> str:
        return cls.parts(key)[0]

    @staticmethod
    def scope(key: str) -> Scope:
        return EVERY_TABLE

    @classmethod
    def configured(cls, key: str, config: Config) -> bool:
        region, name = cls.parts(key)
        return region == config.autoscaler_region and name in getattr(config, cls.NAMES)

    @classmethod
    def named(cls, config: Config) -> tuple[str, ...]:
        region = config.autoscaler_region or ""
        return tuple(cls.key_of(region, name) for name in getattr(config, cls.NAMES) or ())

    @classmethod
    def leftovers(cls, keys: Collection[str], aws: Aws, config: Config) -> list[Any]:
        """The targets of `keys`, which the config no longer names, by region: to be given
        back."""
        regions: dict[str, list[str]] = {}
        for key in keys:
            region, name = cls.parts(key)
            regions.setdefault(region, []).append(name)
        return [
            cls(aws.client(cls.SERVICE, region), region, names, managed=False)
            for region, names in regions.items()
        ]
