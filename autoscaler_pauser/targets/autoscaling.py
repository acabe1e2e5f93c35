"""An autoscaler that runs as a daemon on EC2 in an Auto Scaling group: paused by taking the
group to 0 instances (MinSize 0, DesiredCapacity 0; MaxSize is left as it is), resumed to
exactly the MinSize and DesiredCapacity it had.

Keys: `autoscaling-group:REGION/GROUP`; the setting is the pair (MinSize, DesiredCapacity).
Every matching cluster holds the groups, whatever tables it backs up. The pre-pause sizes are
kept in the pause record.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ..aws import AwsError, aws_error, pages
from ..config_values import names
from ..keys import Key, Kind
from ..model import EVERY_TABLE, Change, Scope, Setting, TargetView
from .kind import Context, Eager, RestoreCall

if TYPE_CHECKING:
    from ..aws import Aws
    from ..config import Config

# Auto Scaling takes a group's name of 1 to 255 characters, and a size up to 2^31 - 1.
NAME_CHARS, MAX_SIZE = 255, 2**31 - 1
NAMES_A_CALL = 50  # DescribeAutoScalingGroups: the group names one call may ask for


class GroupSize(NamedTuple):
    """What a pause changes of an Auto Scaling group: its minimum and desired sizes."""

    min_size: int
    desired: int

    def __str__(self) -> str:
        return f"min {self.min_size} desired {self.desired}"


PAUSED = GroupSize(0, 0)
RESUME_DEFAULT = GroupSize(1, 1)


def _group_names(key: Key, value: Any, from_env: bool) -> tuple[str, ...]:
    groups = names(key, value, from_env)
    long = [g for g in groups if len(g) > NAME_CHARS]
    if long:
        raise ValueError(f"{long[0][:40]!r}… is over {NAME_CHARS} characters, as no group is")
    return groups


KEYS: tuple[Key, ...] = (
    Key(
        "autoscaling_groups",
        Kind.NAMES,
        [],
        "EC2 Auto Scaling groups, in autoscaler_region, whose instances run an autoscaler "
        "daemon: each is taken to MinSize 0 and DesiredCapacity 0 while paused (MaxSize is "
        "left as it is), and given back the two it had after; env: comma-separated",
        target="Auto Scaling groups",
        convert=_group_names,
        type_label="list of Auto Scaling group names",
    ),
)


class AutoScalingGroups(Eager):
    """The groups that run an autoscaler daemon, read 50 names a call."""

    PREFIX = "autoscaling-group:"
    LABEL = "autoscaling-group"
    KEYS = KEYS
    NEEDS = ("autoscaling_groups", "autoscaler_region")
    parallel = False  # the autoscaler itself: stopped first, before its tables

    def __init__(self, asg: Any, region: str, groups: Sequence[str], managed: bool = True):
        self.asg, self.region_name, self.groups, self.managed = asg, region, groups, managed

    # --- the config --------------------------------------------------------------------------

    @staticmethod
    def given(values: Mapping[str, Any], given: Collection[str]) -> bool:
        return bool(values.get("autoscaling_groups")) or (
            "autoscaling_groups" in given and "autoscaling_groups" not in values
        )

    @staticmethod
    def check(values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
        if not complete or not values.get("autoscaling_groups") or "autoscaler_region" in given:
            return []
        return [
            "autoscaler_region: required with autoscaling_groups (set it in the config file or "
            "AUTOSCALER_REGION)"
        ]

    @staticmethod
    def configured_in(config: Config) -> bool:
        return bool(config.autoscaling_groups)

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
        return [cls(aws.client("autoscaling", region), region, config.autoscaling_groups)]

    # --- the facts of its keys ---------------------------------------------------------------

    @classmethod
    def key_of(cls, region: str, group: str) -> str:
        return f"{cls.PREFIX}{region}/{group}"

    @classmethod
    def _parts(cls, key: str) -> tuple[str, str]:
        region, group = key.removeprefix(cls.PREFIX).split("/", 1)
        return region, group

    @classmethod
    def region(cls, key: str) -> str:
        return cls._parts(key)[0]

    @staticmethod
    def scope(key: str) -> Scope:
        return EVERY_TABLE

    @staticmethod
    def setting(value: Any) -> Setting | None:
        """Sizes read back: two whole numbers Auto Scaling takes, the minimum no more than the
        desired."""
        if not isinstance(value, list) or len(value) != 2:
            return None
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
            return None
        low, desired = value
        return GroupSize(low, desired) if 0 <= low <= desired <= MAX_SIZE else None

    @staticmethod
    def paused(key: str) -> Setting:
        return PAUSED

    @classmethod
    def configured(cls, key: str, config: Config) -> bool:
        region, group = cls._parts(key)
        return region == config.autoscaler_region and group in config.autoscaling_groups

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        if not isinstance(setting, GroupSize):
            raise ValueError(f"{key}: a group's setting is its sizes, not {setting!r}")
        request = {
            "AutoScalingGroupName": cls._parts(key)[1],
            "MinSize": setting.min_size,
            "DesiredCapacity": setting.desired,
        }
        return RestoreCall("autoscaling", "updateAutoScalingGroup", request)

    @classmethod
    def leftovers(cls, keys: Collection[str], aws: Aws, config: Config) -> list[Any]:
        """The groups of `keys`, which the config no longer names, by region: to be given
        back."""
        regions: dict[str, list[str]] = {}
        for key in keys:
            region, group = cls._parts(key)
            regions.setdefault(region, []).append(group)
        return [
            cls(aws.client("autoscaling", region), region, groups, managed=False)
            for region, groups in regions.items()
        ]

    # --- reading and writing the groups -------------------------------------------------------

    def observe(self) -> list[TargetView]:
        found = self._describe()
        missing = [g for g in self.groups if g not in found]
        if missing and self.managed:
            raise AwsError(
                f"Auto Scaling group {missing[0]!r} not found in {self.region_name} "
                "(autoscaling_groups, autoscaler_region)"
            )
        views = []
        for name in (g for g in self.groups if g in found):
            group = found[name]
            views.append(
                TargetView(
                    self.key_of(self.region_name, name),
                    f"group {name}",
                    GroupSize(group["MinSize"], group["DesiredCapacity"]),
                    None,
                    PAUSED,
                    RESUME_DEFAULT,
                    keeps_earlier_pause=True,
                    default_name=str(RESUME_DEFAULT),
                    managed=self.managed,
                )
            )
        return views

    def _describe(self) -> dict[str, Mapping[str, Any]]:
        """The groups by name, NAMES_A_CALL names a call."""
        found: dict[str, Mapping[str, Any]] = {}
        listing = self.asg.describe_auto_scaling_groups
        try:
            for i in range(0, len(self.groups), NAMES_A_CALL):
                chunk = list(self.groups[i : i + NAMES_A_CALL])
                for page in pages(listing, "NextToken", AutoScalingGroupNames=chunk):
                    found.update((g["AutoScalingGroupName"], g) for g in page["AutoScalingGroups"])
        except Exception as e:
            raise aws_error("DescribeAutoScalingGroups", e) from e
        return found

    def apply(self, change: Change) -> None:
        if not isinstance(change.after, GroupSize):
            return
        _, group = self._parts(change.key)
        try:
            self.asg.update_auto_scaling_group(
                AutoScalingGroupName=group,
                MinSize=change.after.min_size,
                DesiredCapacity=change.after.desired,
            )
        except Exception as e:
            raise aws_error("UpdateAutoScalingGroup", e) from e
