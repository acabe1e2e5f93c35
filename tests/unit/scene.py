"""The night the unit tests share: one backup cluster running, one ECS service and the table
orders, one clock."""

from datetime import datetime, timezone

from autoscaler_pauser.config import Config
from autoscaler_pauser.model import Cluster

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)
KEY = "ecs:us-east-1/autoscaler/ddb-scaler"
CONFIG = Config(
    emr_prefix=("nightly-backup-",),
    emr_region="us-east-1",
    autoscaler_cluster="autoscaler",
    autoscaler_region="us-east-1",
    autoscaler_service="ddb-scaler",
    dynamodb_tables=("orders",),
    resume_count=1,
)
# The same night as the original tool's environment variables name it.
ENV = {
    "EMR_PREFIX": "nightly-backup-",
    "EMR_REGION": "us-east-1",
    "AUTOSCALER_CLUSTER": "autoscaler",
    "AUTOSCALER_REGION": "us-east-1",
    "AUTOSCALER_SERVICE": "ddb-scaler",
}
BACKUP = (Cluster("j-1", "nightly-backup-a", "RUNNING", "nightly-backup-"),)
