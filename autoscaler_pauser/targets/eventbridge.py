"""A Lambda autoscaler fired by an EventBridge schedule rule (a `rate(...)` rule on the default
event bus): paused by disabling the rule, resumed by enabling it, as an operator does by hand.

Keys: `eventbridge-rule:REGION/RULE`; the setting is the rule's state, `ENABLED` or `DISABLED`.
A rule found in another state (DISABLED, or one of EventBridge's other states) when a pause
begins is left as it is. Every matching cluster holds the rules, whatever tables it backs up.
The pre-pause state is kept in the pause record.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..aws import AwsError, aws_error, error_code
from ..config_values import names
from ..keys import Key, Kind
from ..model import EVERY_TABLE, Change, Scope, Setting, TargetView
from .kind import Context, Eager, RestoreCall

if TYPE_CHECKING:
    from ..aws import Aws
    from ..config import Config

ENABLED, DISABLED = "ENABLED", "DISABLED"
# EventBridge's rule names: 1 to 64 of these (its model's RuleName).
RULE_NAME = re.compile(r"[.\-_A-Za-z0-9]{1,64}")


def _rule_names(key: Key, value: Any, from_env: bool) -> tuple[str, ...]:
    rules = names(key, value, from_env)
    wrong = [r for r in rules if not RULE_NAME.fullmatch(r)]
    if wrong:
        raise ValueError(
            f"{wrong[0]!r} is not an EventBridge rule name (1 to 64 letters, digits, '.', '-', '_')"
        )
    return rules


KEYS: tuple[Key, ...] = (
    Key(
        "eventbridge_rules",
        Kind.NAMES,
        [],
        "EventBridge rules on the default event bus, in autoscaler_region, that fire a Lambda "
        "autoscaler on a schedule: each rule ENABLED when a pause begins is disabled while "
        "paused and enabled again after; a rule in another state is left as it is; env: "
        "comma-separated",
        target="EventBridge rules",
        convert=_rule_names,
        type_label="list of EventBridge rule names",
    ),
)


class EventBridgeRules(Eager):
    """The schedule rules that fire a Lambda autoscaler, read one by one (DescribeRule)."""

    PREFIX = "eventbridge-rule:"
    LABEL = "eventbridge-rule"
    KEYS = KEYS
    NEEDS = ("eventbridge_rules", "autoscaler_region")
    parallel = False  # the autoscaler itself: stopped first, before its tables

    def __init__(self, events: Any, region: str, rules: Sequence[str], managed: bool = True):
        self.events, self.region_name, self.rules, self.managed = events, region, rules, managed

    # --- the config --------------------------------------------------------------------------

    @staticmethod
    def given(values: Mapping[str, Any], given: Collection[str]) -> bool:
        return bool(values.get("eventbridge_rules")) or (
            "eventbridge_rules" in given and "eventbridge_rules" not in values
        )

    @staticmethod
    def check(values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
        if not complete or not values.get("eventbridge_rules") or "autoscaler_region" in given:
            return []
        return [
            "autoscaler_region: required with eventbridge_rules (set it in the config file or "
            "AUTOSCALER_REGION)"
        ]

    @staticmethod
    def configured_in(config: Config) -> bool:
        return bool(config.eventbridge_rules)

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
        return [cls(aws.client("events", region), region, config.eventbridge_rules)]

    # --- the facts of its keys ---------------------------------------------------------------

    @classmethod
    def key_of(cls, region: str, rule: str) -> str:
        return f"{cls.PREFIX}{region}/{rule}"

    @classmethod
    def _parts(cls, key: str) -> tuple[str, str]:
        region, rule = key.removeprefix(cls.PREFIX).split("/", 1)
        return region, rule

    @classmethod
    def region(cls, key: str) -> str:
        return cls._parts(key)[0]

    @staticmethod
    def scope(key: str) -> Scope:
        return EVERY_TABLE

    @staticmethod
    def setting(value: Any) -> Setting | None:
        """A rule's state read back: ENABLED or DISABLED."""
        return value if value in (ENABLED, DISABLED) else None

    @staticmethod
    def paused(key: str) -> Setting:
        return DISABLED

    @classmethod
    def configured(cls, key: str, config: Config) -> bool:
        region, rule = cls._parts(key)
        return region == config.autoscaler_region and rule in config.eventbridge_rules

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        if setting not in (ENABLED, DISABLED):
            raise ValueError(f"{key}: a rule's setting is ENABLED or DISABLED, not {setting!r}")
        action = "enableRule" if setting == ENABLED else "disableRule"
        return RestoreCall("eventbridge", action, {"Name": cls._parts(key)[1]})

    @classmethod
    def leftovers(cls, keys: Collection[str], aws: Aws, config: Config) -> list[Any]:
        """The rules of `keys`, which the config no longer names, by region: to be given
        back."""
        regions: dict[str, list[str]] = {}
        for key in keys:
            region, rule = cls._parts(key)
            regions.setdefault(region, []).append(rule)
        return [
            cls(aws.client("events", region), region, rules, managed=False)
            for region, rules in regions.items()
        ]

    # --- reading and writing the rules --------------------------------------------------------

    def observe(self) -> list[TargetView]:
        views = []
        for rule in self.rules:
            state = self._state(rule)
            if state is None:
                continue
            # A rule in a state other than the two is left as it is: its state is its pause.
            paused = DISABLED if state in (ENABLED, DISABLED) else state
            views.append(
                TargetView(
                    self.key_of(self.region_name, rule),
                    f"rule {rule}",
                    state,
                    None,
                    paused,
                    ENABLED,
                    keeps_earlier_pause=True,
                    default_name="ENABLED",
                    managed=self.managed,
                )
            )
        return views

    def _state(self, rule: str) -> str | None:
        """The rule's state; None for a rule the config no longer names that is gone."""
        try:
            return str(self.events.describe_rule(Name=rule)["State"])
        except Exception as e:
            if error_code(e) != "ResourceNotFoundException":
                raise aws_error("DescribeRule", e) from e
            if not self.managed:
                return None
            raise AwsError(
                f"EventBridge rule {rule!r} not found on the default event bus in "
                f"{self.region_name} (eventbridge_rules, autoscaler_region)"
            ) from None

    def apply(self, change: Change) -> None:
        if change.after is None:
            return
        _, rule = self._parts(change.key)
        operation = "EnableRule" if change.after == ENABLED else "DisableRule"
        try:
            if change.after == ENABLED:
                self.events.enable_rule(Name=rule)
            else:
                self.events.disable_rule(Name=rule)
        except Exception as e:
            raise aws_error(operation, e) from e
