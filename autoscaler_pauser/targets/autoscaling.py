"""An autoscaler that runs as a daemon on EC2 in an Auto Scaling group: paused by taking the
group to 0 instances (MinSize 0, DesiredCapacity 0; MaxSize is left as it is), resumed to
exactly the MinSize and DesiredCapacity it had.

Keys: `autoscaling-group:REGION/GROUP`; the setting is the pair (MinSize, DesiredCapacity).
Every matching cluster holds the groups, whatever tables it backs up. The pre-pause sizes are
kept in the pause record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ..aws import AwsError, aws_error, pages
from ..config_values import names
from ..keys import Key, Kind
from ..model import Change, Setting, TargetView
from .kind import RestoreCall
from .named import NamedInAutoscalerRegion

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


class AutoScalingGroups(NamedInAutoscalerRegion):
    """The groups that run an autoscaler daemon, read 50 names a call."""

    PREFIX = "autoscaling-group:"
    LABEL = "autoscaling-group"
    KEYS = KEYS
    NAMES = "autoscaling_groups"
    NEEDS = ("autoscaling_groups", "autoscaler_region")
    SERVICE = "autoscaling"

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
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        if not isinstance(setting, GroupSize):
            raise ValueError(f"{key}: a group's setting is its sizes, not {setting!r}")
        request = {
            "AutoScalingGroupName": cls.parts(key)[1],
            "MinSize": setting.min_size,
            "DesiredCapacity": setting.desired,
        }
        return RestoreCall("autoscaling", "updateAutoScalingGroup", request)

    # --- reading and writing the groups -------------------------------------------------------

    def observe(self) -> list[TargetView]:
        found = self._describe()
        missing = [g for g in self.names if g not in found]
        if missing and self.managed:
            raise AwsError(
                f"Auto Scaling group {missing[0]!r} not found in {self.region_name} "
                "(autoscaling_groups, autoscaler_region)"
            )
        views = []
        for name in (g for g in self.names if g in found):
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
        listing = self.client.describe_auto_scaling_groups
        try:
            for i in range(0, len(self.names), NAMES_A_CALL):
                chunk = list(self.names[i : i + NAMES_A_CALL])
                for page in pages(listing, "NextToken", AutoScalingGroupNames=chunk):
                    found.update((g["AutoScalingGroupName"], g) for g in page["AutoScalingGroups"])
        except Exception as e:
            raise aws_error("DescribeAutoScalingGroups", e) from e
        return found

    def apply(self, change: Change) -> None:
        if not isinstance(change.after, GroupSize):
            return
        _, group = self.parts(change.key)
        try:
            self.client.update_auto_scaling_group(
                AutoScalingGroupName=group,
                MinSize=change.after.min_size,
                DesiredCapacity=change.after.desired,
            )
        except Exception as e:
            raise aws_error("UpdateAutoScalingGroup", e) from e
