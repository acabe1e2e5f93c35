"""An AWS account to run against: an ECS autoscaler service, EMR clusters to start and stop."""

from __future__ import annotations

import functools
import json
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import boto3

from autoscaler_pauser.aws import Aws, make_clients
from autoscaler_pauser.config import Config
from autoscaler_pauser.lease import PART

from .state import flat

REGION = "us-east-1"
# When AWS made the scalable targets of moto in process: before the clock of any test, unless a
# test says a target is made later (`World.made_at`).
MADE_BEFORE = datetime(2026, 1, 1, tzinfo=timezone.utc)


class World:
    """An AWS account with an ECS autoscaler service and EMR clusters to start and stop."""

    def __init__(
        self, endpoint: str | None = None, keys: dict[str, str] | None = None, region: str = REGION
    ):
        """`keys`: the access key id and secret key to call with (AWS_ACCESS_KEY_ID and
        AWS_SECRET_ACCESS_KEY), else those of the environment; `region`: where its clients
        call."""
        kw = {"region_name": region}
        if endpoint:
            kw["endpoint_url"] = endpoint
        if keys:
            kw["aws_access_key_id"] = keys["AWS_ACCESS_KEY_ID"]
            kw["aws_secret_access_key"] = keys["AWS_SECRET_ACCESS_KEY"]
        self.kw = kw
        self.calls: Counter[str] = Counter()
        self.cluster, self.service = "autoscaler", "ddb-scaler"
        self.made_at = MADE_BEFORE  # in process: the CreationTime of a target registered now

    # Each client is made when a test first uses it: most tests need two of the four, and a
    # client takes a tenth of a second or so to make.

    @functools.cached_property
    def emr(self):
        return boto3.client("emr", **self.kw)

    @functools.cached_property
    def ecs(self):
        return boto3.client("ecs", **self.kw)

    @functools.cached_property
    def aas(self):
        return boto3.client("application-autoscaling", **self.kw)

    @functools.cached_property
    def dynamodb(self):
        return boto3.client("dynamodb", **self.kw)

    @functools.cached_property
    def events(self):
        return boto3.client("events", **self.kw)

    @functools.cached_property
    def autoscaling(self):
        return boto3.client("autoscaling", **self.kw)

    def create_rule(self, name: str, state: str = "ENABLED") -> None:
        """A schedule rule on the default bus, as a Lambda autoscaler is fired by."""
        self.events.put_rule(Name=name, ScheduleExpression="rate(1 minute)", State=state)

    def rule_state(self, name: str) -> str:
        return self.events.describe_rule(Name=name)["State"]

    def create_group(self, name: str, low: int = 1, high: int = 2, desired: int = 1) -> None:
        """An Auto Scaling group, as an autoscaler daemon runs in."""
        ec2 = boto3.client("ec2", **self.kw)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        self.autoscaling.create_launch_configuration(
            LaunchConfigurationName=f"{name}-lc", ImageId=image, InstanceType="t2.micro"
        )
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchConfigurationName=f"{name}-lc",
            MinSize=low,
            MaxSize=high,
            DesiredCapacity=desired,
            AvailabilityZones=[f"{REGION}a"],
        )

    def group(self, name: str) -> tuple[int, int, int]:
        """A group's MinSize, MaxSize and DesiredCapacity."""
        [g] = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ]
        return g["MinSize"], g["MaxSize"], g["DesiredCapacity"]

    def create_service(self, desired: int = 3, name: str | None = None) -> str:
        name = name or self.service
        self.ecs.create_cluster(clusterName=self.cluster)
        self.ecs.register_task_definition(
            family="scaler", containerDefinitions=[{"name": "s", "image": "x", "memory": 128}]
        )
        svc = self.ecs.create_service(
            cluster=self.cluster, serviceName=name, taskDefinition="scaler", desiredCount=desired
        )
        return svc["service"]["serviceArn"]

    def start_cluster(self, name: str, tags: dict[str, str] | None = None) -> str:
        """A cluster, tagged as a backup launcher would (`tags`): only with tags EMR takes."""
        from .contract import emr_tag_violations  # which uses this module's attaching

        refused = [why for k, v in (tags or {}).items() for why in emr_tag_violations(k, v)]
        assert not refused, f"EMR refuses these tags: {refused}"
        more = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
        return self.emr.run_job_flow(
            Name=name,
            **more,
            ReleaseLabel="emr-6.15.0",
            Instances={
                "InstanceCount": 1,
                "MasterInstanceType": "m5.xlarge",
                "KeepJobFlowAliveWhenNoSteps": True,
            },
            JobFlowRole="EMR_EC2_DefaultRole",
            ServiceRole="EMR_DefaultRole",
        )["JobFlowId"]

    def stop_cluster(self, cluster_id: str) -> None:
        self.emr.terminate_job_flows(JobFlowIds=[cluster_id])

    def describe(self) -> dict:
        return self.ecs.describe_services(
            cluster=self.cluster, services=[self.service], include=["TAGS"]
        )["services"][0]

    def desired(self) -> int:
        return self.describe()["desiredCount"]

    def tags(self) -> dict[str, str]:
        return {t["key"]: t["value"] for t in self.describe().get("tags") or []}

    def set_desired(self, count: int) -> None:
        self.ecs.update_service(cluster=self.cluster, service=self.service, desiredCount=count)

    def scheduler(self):
        """An EventBridge Scheduler client of this account."""
        return boto3.client("scheduler", **self.kw)

    @functools.cached_property
    def sqs(self):
        return boto3.client("sqs", **self.kw)

    def event_queue(self, bus: str = "on-call") -> tuple[str, str]:
        """A custom event bus whose rule delivers the pauser's events to an SQS queue, as a team
        would route them: the bus's ARN, and the queue's URL."""
        arn = self.events.create_event_bus(Name=bus)["EventBusArn"]
        url = self.sqs.create_queue(QueueName="on-call-events")["QueueUrl"]
        queue = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        self.events.put_rule(
            Name="autoscaler-pauser",
            EventBusName=bus,
            EventPattern=json.dumps({"source": ["autoscaler-pauser"]}),
        )
        self.events.put_targets(
            Rule="autoscaler-pauser",
            EventBusName=bus,
            Targets=[{"Id": "queue", "Arn": queue["Attributes"]["QueueArn"]}],
        )
        return arn, url

    def received(self, url: str) -> list[dict]:
        """The events the queue holds, taken out of it, in the order they were sent."""
        found = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def create_state_table(self, name: str = "autoscaler-pauser") -> str:
        """The table the pausers share their pause record in: its only key is `name`."""
        self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    def pause_item(self, table: str = "autoscaler-pauser") -> dict:
        """The items of the state table, by name, as plain values; a head item's `record` as
        the tool wrote it (parsed, its parts joined) and, as `flat`, in the view
        tests.support.state gives of a state file."""
        items = self.dynamodb.scan(TableName=table)["Items"]
        plain = {}
        for item in items:
            values = {k: next(iter(v.values())) for k, v in item.items()}
            plain[values["name"]] = values
        out = {}
        for name, values in plain.items():
            if PART in name:
                continue
            if isinstance(values.get("record"), bytes):
                parts = int(values.get("parts", "1"))
                blob = values["record"] + b"".join(
                    plain[f"{name}{PART}{i}"]["record"] for i in range(1, parts)
                )
                values["record"] = json.loads(zlib.decompress(blob))
            elif "record" in values:
                values["record"] = json.loads(values["record"])
            if isinstance(values.get("record"), dict) and "format" in values["record"]:
                values["flat"] = flat(
                    {
                        "version": 2,
                        "pause": values["record"],
                        "run": {},
                    }
                )
            out[name] = values
        return out

    def set_record(self, name: str, record: dict, table: str = "autoscaler-pauser") -> None:
        """Write a pause record into a head item as the tool would (one part), as a person
        editing it would: without the lease or a new version."""
        self.dynamodb.update_item(
            TableName=table,
            Key={"name": {"S": name}},
            UpdateExpression="SET #r = :r, parts = :one",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={
                ":r": {"B": zlib.compress(json.dumps(record).encode())},
                ":one": {"N": "1"},
            },
        )

    def clients(self, config: Config, session: object = None, dates: bool = False) -> Aws:
        """The tool's clients, counting every call they make by operation name. `dates`: the
        run takes AWS's clock from the answers' Date (a test's own clock, else, stands)."""
        aws = make_clients(config, session)
        aws.dates = dates
        make = aws.make

        def counted(service, region):
            client = make(service, region)
            client.meta.events.register("before-call.*.*", self._count)
            return client

        aws.make = counted
        return aws

    def _count(self, model, **_):
        self.calls[model.name] += 1


def attaching(aws_factory: Callable[..., Aws], attach: Callable[[Any], Any]) -> Callable[..., Aws]:
    """An aws_factory for cli.main() whose clients are each handed to `attach` as they are made:
    the one given, with its `make` wrapped."""

    def made(config: Config, session: object = None) -> Aws:
        aws = aws_factory(config, session)
        make = aws.make
        aws.make = lambda service, region: attach(make(service, region))
        return aws

    return made


def follow_made_at(world: World, monkeypatch) -> None:
    """moto in process makes each new scalable target at `world.made_at`, not at the time of
    the machine the tests run on, which no test's clock knows."""
    from moto.applicationautoscaling.models import FakeScalableTarget

    made = FakeScalableTarget.__init__

    def init(self, *args, **kw):
        made(self, *args, **kw)
        self.creation_time = world.made_at.timestamp()

    monkeypatch.setattr(FakeScalableTarget, "__init__", init)


# Application Auto Scaling: DynamoDB tables and indexes, and other scalable targets.

SUSPENDED = {
    "DynamicScalingInSuspended": True,
    "DynamicScalingOutSuspended": True,
    "ScheduledScalingSuspended": True,
}
SCALING = dict.fromkeys(SUSPENDED, False)
READ, WRITE = "ReadCapacityUnits", "WriteCapacityUnits"


def register(world, resource, dimension, suspended=None, namespace="dynamodb"):
    kw = {"SuspendedState": suspended} if suspended else {}
    world.aas.register_scalable_target(
        ServiceNamespace=namespace,
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=5,
        MaxCapacity=500,
        **kw,
    )


def add_table(world, table, indexes=(), suspended=None):
    for dim in (READ, WRITE):
        register(world, f"table/{table}", f"dynamodb:table:{dim}", suspended)
        for index in indexes:
            register(world, f"table/{table}/index/{index}", f"dynamodb:index:{dim}", suspended)


def add_index(world, table, index, suspended=None):
    for dim in (READ, WRITE):
        register(world, f"table/{table}/index/{index}", f"dynamodb:index:{dim}", suspended)


def remove_table(world, table, indexes=()):
    """The table deleted: its targets and its indexes' are gone."""
    for resource in (f"table/{table}", *(f"table/{table}/index/{i}" for i in indexes)):
        what = "index" if "/index/" in resource else "table"
        for dim in (READ, WRITE):
            world.aas.deregister_scalable_target(
                ServiceNamespace="dynamodb",
                ResourceId=resource,
                ScalableDimension=f"dynamodb:{what}:{dim}",
            )


def fire(world, schedule: dict, group: str = "autoscaler-pauser") -> None:
    """What Scheduler does when a schedule (as GetSchedule gives it) is due: the universal
    target's call, made with its input, and (ActionAfterCompletion DELETE) the schedule
    removed."""
    target = schedule["Target"]
    service, action = target["Arn"].split(":")[-2:]
    request = json.loads(target["Input"])
    if (service, action) == ("ecs", "updateService"):
        world.ecs.update_service(
            cluster=request["Cluster"],
            service=request["Service"],
            desiredCount=request["DesiredCount"],
        )
    else:
        assert (service, action) == ("applicationautoscaling", "registerScalableTarget")
        world.aas.register_scalable_target(**request)
    assert schedule["ActionAfterCompletion"] == "DELETE"
    world.scheduler().delete_schedule(Name=schedule["Name"], GroupName=group)


def targets(world, namespace="dynamodb"):
    """ResourceId + dimension -> (SuspendedState, Min, Max)."""
    out = {}
    pages = world.aas.get_paginator("describe_scalable_targets")
    for page in pages.paginate(ServiceNamespace=namespace):
        for t in page["ScalableTargets"]:
            state = {k: t.get("SuspendedState", {}).get(k, False) for k in SUSPENDED}
            key = f"{t['ResourceId']} {t['ScalableDimension'].split(':')[-1]}"
            out[key] = (state, t["MinCapacity"], t["MaxCapacity"])
    return out
