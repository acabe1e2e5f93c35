"""A Lambda autoscaler fired by an EventBridge schedule rule (a `rate(...)` rule on the default
event bus): paused by disabling the rule, resumed by enabling it, as an operator does by hand.

Keys: `eventbridge-rule:REGION/RULE`; the setting is the rule's state, `ENABLED` or `DISABLED`.
A rule found in another state (DISABLED, or one of EventBridge's other states) when a pause
begins is left as it is. Every matching cluster holds the rules, whatever tables it backs up.
The pre-pause state is kept in the pause record.
"""

from __future__ import annotations

import re
from typing import Any

from ..aws import AwsError, aws_error, error_code
from ..config_values import names
from ..keys import Key, Kind
from ..model import Change, Setting, TargetView
from .kind import RestoreCall
from .named import NamedInAutoscalerRegion

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


class EventBridgeRules(NamedInAutoscalerRegion):
    """The schedule rules that fire a Lambda autoscaler, read one by one (DescribeRule)."""

    PREFIX = "eventbridge-rule:"
    LABEL = "eventbridge-rule"
    KEYS = KEYS
    NAMES = "eventbridge_rules"
    NEEDS = ("eventbridge_rules", "autoscaler_region")
    SERVICE = "events"

    @staticmethod
    def setting(value: Any) -> Setting | None:
        """A rule's state read back: ENABLED or DISABLED."""
        return value if value in (ENABLED, DISABLED) else None

    @staticmethod
    def paused(key: str) -> Setting:
        return DISABLED

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        if setting not in (ENABLED, DISABLED):
            raise ValueError(f"{key}: a rule's setting is ENABLED or DISABLED, not {setting!r}")
        action = "enableRule" if setting == ENABLED else "disableRule"
        return RestoreCall("eventbridge", action, {"Name": cls.parts(key)[1]})

    # --- reading and writing the rules --------------------------------------------------------

    def observe(self) -> list[TargetView]:
        views = []
        for rule in self.names:
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
            return str(self.client.describe_rule(Name=rule)["State"])
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
        _, rule = self.parts(change.key)
        operation = "EnableRule" if change.after == ENABLED else "DisableRule"
        try:
            if change.after == ENABLED:
                self.client.enable_rule(Name=rule)
            else:
                self.client.disable_rule(Name=rule)
        except Exception as e:
            raise aws_error(operation, e) from e
