"""The custom autoscaler as an ECS service, and the service's own scalable target.

Both keep their pre-pause setting on the service itself, as a tag, besides the pause record, so
that a lost state file, a replaced host or a second host still resumes to it. A service made
before ECS's long ARN format (`…:service/NAME`) cannot be tagged: its settings are kept in the
pause record only.

Keys: `ecs:REGION/CLUSTER/SERVICE` for the service (its setting: the desired count), and
`ecs-scaling:REGION/CLUSTER/SERVICE` for its scalable target (its three suspension flags). Every
matching cluster holds both, whatever tables it backs up.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from ..aws import AwsError, aws_error
from ..model import (
    EVERY_TABLE,
    SUSPENDED,
    Change,
    PauseRecord,
    Scope,
    Setting,
    Suspension,
    TargetView,
    Why,
)
from . import ecs_keys
from .kind import Context, Eager, RestoreCall

if TYPE_CHECKING:
    from ..aws import Aws
    from ..config import Config
    from ..decide import Plan

from .scalable import (
    format_flags,
    parse_flags,
    register_suspension,
    restore_suspension,
    scaling_view,
    suspension_from_json,
)

log = logging.getLogger("autoscaler-pauser")

SAVED_COUNT_TAG = "autoscaler-pauser:saved-desired-count"
SAVED_SCALING_TAG = "autoscaler-pauser:saved-scaling"
SHORT_ARN_REMEDY = (
    "its ARN has the format from before 2021, which ECS does not let be tagged, so its setting "
    "before the pause is kept in the pause record only. To keep it on the service too, migrate "
    "the service to the long ARN in place, with no downtime (ECS Developer Guide, 'Migrate an "
    "Amazon ECS short service ARN to a long ARN'): aws ecs put-account-setting --name "
    "serviceLongArnFormat --value enabled, as the principal that created the service; then aws "
    "ecs tag-resource --resource-arn arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE --tags "
    "key=KEY,value=VALUE, which migrates it"
)

T = TypeVar("T")


def _parts(key: str, prefix: str) -> tuple[str, str, str]:
    """REGION, CLUSTER, SERVICE of an ECS key."""
    region, cluster, service = key.removeprefix(prefix).split("/", 2)
    return region, cluster, service


class EcsService(Eager):
    """The custom autoscaler as an ECS service: paused at desired count 0."""

    PREFIX = "ecs:"
    LABEL = "ecs-service"
    KEYS = ecs_keys.KEYS
    NEEDS = ecs_keys.NAMING
    parallel = False  # the autoscaler itself: stopped first, before its tables

    def __init__(
        self,
        ecs: Any,
        region: str,
        cluster: str,
        service: str,
        resume_count: int,
        managed: bool = True,
    ):
        self.ecs, self.region_name, self.cluster, self.service = ecs, region, cluster, service
        self.resume_count, self.managed = resume_count, managed
        self.key = self.key_of(region, cluster, service)
        self.arn: str | None = None
        self.taggable = True  # False: a short ARN, which ECS does not tag
        self.saved_scaling: Suspension | None = None  # the tag its scaling target's record is in
        self.unreadable_scaling_tag = False
        self.found = True

    # --- the config --------------------------------------------------------------------------

    given = staticmethod(ecs_keys.given)
    check = staticmethod(ecs_keys.check)

    @staticmethod
    def configured_in(config: Config) -> bool:
        return config.autoscaler_service is not None

    @classmethod
    def scopes(cls, config: Config) -> tuple[Scope, ...]:
        return (EVERY_TABLE,)

    @staticmethod
    def home_region(config: Config) -> str | None:
        return config.autoscaler_region

    @classmethod
    def default_name(cls, config: Config) -> str | None:
        """The service's key: each service has one pauser."""
        return cls.configured_key(config)

    @classmethod
    def build(cls, config: Config, aws: Aws, context: Context) -> list[Any]:
        """The service, and its own scalable target, read only when needed."""
        region = config.autoscaler_region or ""
        service = cls(
            aws.client("ecs", region),
            region,
            config.autoscaler_cluster or "",
            config.autoscaler_service or "",
            config.resume_count,
        )
        aas = functools.partial(aws.client, "application-autoscaling", region)
        return [service, EcsServiceScaling(aas, service)]

    # --- the facts of its keys ---------------------------------------------------------------

    @classmethod
    def key_of(cls, region: str, cluster: str, service: str) -> str:
        return f"{cls.PREFIX}{region}/{cluster}/{service}"

    @classmethod
    def configured_key(cls, config: Config) -> str | None:
        """The key of the config's service, if it has one."""
        if not cls.configured_in(config):
            return None
        return cls.key_of(
            config.autoscaler_region or "",
            config.autoscaler_cluster or "",
            config.autoscaler_service or "",
        )

    @classmethod
    def configured(cls, key: str, config: Config) -> bool:
        return key == cls.configured_key(config)

    @classmethod
    def named(cls, config: Config) -> tuple[str, ...]:
        key = cls.configured_key(config)
        return (key,) if key else ()

    @classmethod
    def region(cls, key: str) -> str:
        return _parts(key, cls.PREFIX)[0]

    @staticmethod
    def scope(key: str) -> Scope:
        return EVERY_TABLE

    setting = staticmethod(ecs_keys.desired_count)

    @staticmethod
    def paused(key: str) -> Setting:
        return 0

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        _, cluster, service = _parts(key, cls.PREFIX)
        if isinstance(setting, Suspension):
            raise ValueError(f"{key}: a service's setting is its desired count, not {setting!r}")
        request = {"Cluster": cluster, "Service": service, "DesiredCount": setting}
        return RestoreCall("ecs", "updateService", request)

    @classmethod
    def leftovers(cls, keys: Collection[str], aws: Aws, config: Config) -> list[Any]:
        """The services of `keys`, which the config no longer names, and their scalable
        targets: to be given back."""
        return _leftover_services(keys, aws, config)

    # --- reading and writing the service --------------------------------------------------

    @property
    def where(self) -> str:
        """Where the service was looked for, as the config says it."""
        return f"cluster {self.cluster!r} in {self.region_name}"

    def observe(self) -> list[TargetView]:
        try:
            resp = self.ecs.describe_services(
                cluster=self.cluster, services=[self.service], include=["TAGS"]
            )
        except Exception as e:
            error = aws_error("DescribeServices", e)
            where = f"ECS service {self.service!r} in {self.where}"
            raise AwsError(f"{error} ({where})", code=error.code, status=error.status) from e
        services = resp.get("services", [])
        if not services or (services[0].get("status") != "ACTIVE" and not self.managed):
            if not self.managed:
                self.found = False
                return []
            reason = (resp.get("failures") or [{}])[0].get("reason", "MISSING")
            raise AwsError(f"ECS service {self.service!r} not found in {self.where} ({reason})")
        svc = services[0]
        if svc.get("status") != "ACTIVE":
            raise AwsError(
                f"ECS service {self.service!r} in {self.where} is {svc.get('status')}, not ACTIVE"
            )
        self.arn = svc["serviceArn"]
        self.taggable = svc["serviceArn"].split(":", 5)[-1].count("/") >= 2
        tags = {t.get("key"): t.get("value") for t in svc.get("tags") or []}
        self.saved_scaling = self._tag(tags, SAVED_SCALING_TAG, parse_flags, "not understood")
        self.unreadable_scaling_tag = self.saved_scaling is None and SAVED_SCALING_TAG in tags
        saved = self._tag(tags, SAVED_COUNT_TAG, ecs_keys.count_from_tag, ecs_keys.NOT_A_COUNT)
        view = TargetView(
            self.key,
            self.service,
            svc["desiredCount"],
            saved,
            0,
            self.resume_count,
            saves_on_aws=self.taggable,
            default_name="resume_count",
            unreadable_record=saved is None and SAVED_COUNT_TAG in tags,
            managed=self.managed,
        )
        return [view]

    def _tag(
        self, tags: Mapping[str, str], key: str, parse: Callable[[str], T | None], bad: str
    ) -> T | None:
        """A saved setting from the service's tags, or None; a tag that cannot be understood is
        warned of and left out."""
        if key not in tags:
            return None
        value = parse(tags[key])
        if value is None:
            log.warning("ignored tag %s=%r on %s: %s", key, tags[key], self.service, bad)
        return value

    def apply(self, change: Change) -> None:
        def update() -> None:
            try:
                self.ecs.update_service(
                    cluster=self.cluster, service=self.service, desiredCount=change.after
                )
            except Exception as e:
                raise aws_error("UpdateService", e) from e

        count = None if change.save is None else str(change.save)
        kept = f"the pre-pause count {change.save} is kept in the pause record only"
        self.save_write_forget(change, SAVED_COUNT_TAG, count, update, kept)

    def save_write_forget(
        self,
        change: Change,
        tag: str,
        value: str | None,
        write: Callable[[], None],
        kept: str,
    ) -> None:
        """Record the pre-pause setting (`value`) in the service's tag `tag`, make the change,
        then remove the tag if the change says so. A failed record does not stop a pause: the
        change is made all the same and the error says where the setting is still kept. A
        service that cannot be tagged is changed, and warned of at each pause."""
        if not self.taggable or self.arn is None:  # a short ARN, or the service is gone
            if change.after is not None:
                write()
            if change.why is Why.PAUSE:
                log.warning("%s was paused; %s", self.service, SHORT_ARN_REMEDY)
            return
        tag_error = None
        if value is not None:
            try:
                self._tag_resource(tag, value)
            except AwsError as e:
                tag_error = e
        if change.after is not None:
            write()
        if tag_error is not None:
            raise AwsError(f"{tag_error} ({kept})", changed=True)
        if change.forget:
            try:
                self._untag_resource(tag)
            except AwsError as e:
                raise AwsError(str(e), changed=change.after is not None) from e

    def _tag_resource(self, key: str, value: str) -> None:
        try:
            self.ecs.tag_resource(resourceArn=self.arn, tags=[{"key": key, "value": value}])
        except Exception as e:
            raise aws_error("TagResource", e) from e

    def _untag_resource(self, key: str) -> None:
        try:
            self.ecs.untag_resource(resourceArn=self.arn, tagKeys=[key])
        except Exception as e:
            raise aws_error("UntagResource", e) from e


class EcsServiceScaling:
    """The ECS service's own Application Auto Scaling target, if it has one: suspended with the
    service, or a scale-out alarm or scheduled action would lift desiredCount=0 again.

    A run reads it only when the service is about to change (or a record of it is left over at
    resume), so a steady run makes no extra call. Its pre-pause suspension is kept as a tag on
    the service and in the pause record.
    """

    PREFIX = "ecs-scaling:"
    LABEL = "ecs-service-scaling"
    KEYS = ()
    NEEDS = ()
    DIMENSION = "ecs:service:DesiredCount"
    parallel = False
    lazy = True

    # The service's config names it: it has no keys of its own, and is built with the service.
    configured_in = EcsService.configured_in
    scopes = EcsService.scopes
    home_region = EcsService.home_region

    @staticmethod
    def given(values: Any, given: Any) -> bool:
        return False

    @staticmethod
    def check(values: Any, given: Any, complete: bool) -> list[str]:
        return []

    @staticmethod
    def default_name(config: Config) -> str | None:
        return None

    @staticmethod
    def build(config: Config, aws: Aws, context: Context) -> list[Any]:
        return []

    def __init__(self, aas: Callable[[], Any], service: EcsService):
        """`aas`: makes the Application Auto Scaling client when the target is first read (a
        steady run never makes it)."""
        self._aas, self.service = aas, service
        self.key = self.key_of(service.region_name, service.cluster, service.service)
        self.target: Mapping[str, Any] = {}

    @property
    def aas(self) -> Any:
        return self._aas()

    @classmethod
    def key_of(cls, region: str, cluster: str, service: str) -> str:
        return f"{cls.PREFIX}{region}/{cluster}/{service}"

    @classmethod
    def configured(cls, key: str, config: Config) -> bool:
        service = EcsService.configured_key(config)
        return service is not None and key == cls.PREFIX + service.removeprefix(EcsService.PREFIX)

    @staticmethod
    def named(config: Config) -> tuple[str, ...]:
        return ()  # the service's: EcsService names it

    @classmethod
    def region(cls, key: str) -> str:
        return _parts(key, cls.PREFIX)[0]

    scope = EcsService.scope
    setting = staticmethod(suspension_from_json)

    @staticmethod
    def paused(key: str) -> Setting:
        return SUSPENDED

    def denied(self, e: AwsError) -> str:
        """What goes unchecked when IAM denies reading it."""
        return (
            f"{self.service.service}'s own scaling target was not checked: {e}; if the "
            "service has one, its scale-out alarms or scheduled actions could lift the count "
            "during the pause: allow application-autoscaling:DescribeScalableTargets and "
            "RegisterScalableTarget (docs/iam.md)"
        )

    def needed(self, plan: Plan, record: PauseRecord) -> bool:
        """Read when the service is about to change, or at resume when a record of its earlier
        suspension is left."""
        touched = any(c.key == self.service.key for c in plan.changes)
        recorded = self.service.saved_scaling is not None or self.key in record.held
        return touched or (recorded and not plan.verdict(EVERY_TABLE).pause)

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        _, cluster, service = _parts(key, cls.PREFIX)
        resource = f"service/{cluster}/{service}"
        return restore_suspension(key, "ecs", resource, cls.DIMENSION, setting)

    leftovers = EcsService.leftovers  # the service and its target are read together

    def observe(self) -> list[TargetView]:
        resource = f"service/{self.service.cluster}/{self.service.service}"
        try:
            resp = self.aas.describe_scalable_targets(
                ServiceNamespace="ecs",
                ResourceIds=[resource],
                ScalableDimension=self.DIMENSION,
            )
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        targets = resp.get("ScalableTargets", [])
        if not targets:
            return []
        self.target = targets[0]
        label = f"{self.service.service}'s scaling target"
        saved = self.service.saved_scaling
        view = scaling_view(self.key, label, self.target, saved, on_aws=self.service.taggable)
        unreadable = self.service.unreadable_scaling_tag
        return [replace(view, unreadable_record=unreadable, managed=self.service.managed)]

    def apply(self, change: Change) -> None:
        def register() -> None:
            register_suspension(self.aas, self.target, change.after)  # type: ignore[arg-type]

        flags = None if change.save is None else format_flags(change.save)  # type: ignore[arg-type]
        kept = "the earlier suspension is kept in the pause record only"
        self.service.save_write_forget(change, SAVED_SCALING_TAG, flags, register, kept)


def _leftover_services(keys: Collection[str], aws: Aws, config: Config) -> list[Any]:
    """A service and its scalable target for each service of `keys` (either kind), not managed:
    the service is read first, for its tags."""
    services = {}
    for key in keys:
        ecs = key.startswith(EcsService.PREFIX)
        services.setdefault(_parts(key, EcsService.PREFIX if ecs else EcsServiceScaling.PREFIX), 0)
    kinds: list[Any] = []
    for region, cluster, service in services:
        ecs = EcsService(
            aws.client("ecs", region), region, cluster, service, config.resume_count, False
        )
        aas = functools.partial(aws.client, "application-autoscaling", region)
        kinds += [ecs, EcsServiceScaling(aas, ecs)]
    return kinds
