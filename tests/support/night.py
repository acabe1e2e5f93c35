"""Random nights of three hosts on one state_table, through main() in process with one clock.

The events: backups start (each naming tables in its tags, or none: every table) and end; a host
runs, and one run in five is killed at one of its first writes (before AWS made it, or after)
or before its state file; an index is made mid-night, or a table, which goes on the list; the list
and the dimensions change, host by host; a person sets a target's suspension where nothing of
the pause holds it (or the service's count while no pause is on), or lifts one the pause holds
(paused again by the next run, as the rules say); the failsafe fires. After every run that went
through, every target of a table a backup holds on that host's config is suspended, but for an
index made less than ten minutes before; after every night, once the backups are over and every
host runs the same config, every target has its setting from before the night (or the one a
person set) and no schedule is left."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from pathlib import Path

from autoscaler_pauser import run as run_module

from .clock import Clock
from .hosts import Host, Killed, crowd, kill_at
from .world import (
    READ,
    SCALING,
    SUSPENDED,
    WRITE,
    add_index,
    add_table,
    fire,
    register,
    targets,
)

TABLE = "autoscaler-pauser"
GROUP = "autoscaler-pauser"
PAUSER = "ecs:us-east-1/autoscaler/ddb-scaler"
ROLE = "arn:aws:iam::123456789012:role/failsafe"
SIDES = {"read": READ, "write": WRITE}
SETTINGS = [
    SCALING,
    {**SCALING, "DynamicScalingInSuspended": True},
    {**SCALING, "DynamicScalingOutSuspended": True},
    {**SCALING, "ScheduledScalingSuspended": True},
    SUSPENDED,
]
LIFTS = SETTINGS[:-1]  # a suspension lifted, in part or whole
FOUND_WITHIN = timedelta(minutes=10)  # an index made mid-pause is paused within it (docs)
STEP = timedelta(seconds=20)  # between two events: each host runs about once a minute
# The calls that write, one of which a killed run dies at (before AWS makes it, or after).
WRITES = {
    "RegisterScalableTarget",
    "UpdateService",
    "TagResource",
    "UntagResource",
    "CreateScheduleGroup",
    "CreateSchedule",
    "UpdateSchedule",
    "DeleteSchedule",
    "UpdateItem",
    "PutItem",
    "DeleteItem",
    "TransactWriteItems",
}
KILLED = 1 / 5  # of the runs


@dataclass
class Tally:
    nights: int = 0
    runs: int = 0  # that went through
    kills: int = 0
    skipped: int = 0  # another run's lease (a killed one's) held the record
    events: int = 0


@dataclass
class Config:
    tables: tuple[str, ...] = ("orders", "users")
    dims: tuple[str, ...] = ("read", "write")

    def env(self) -> dict[str, str]:
        return {
            "DYNAMODB_TABLES": ",".join(self.tables),
            "DYNAMODB_DIMENSIONS": ",".join(self.dims),
        }

    def covers(self, table: str, side: str) -> bool:
        return table in self.tables and side in self.dims


@dataclass
class Nights:
    """The world the nights of one seed share, and what a person knows of it."""

    world: object
    folder: Path
    clock: Clock
    seed: int
    patch: object  # pytest's monkeypatch
    tally: Tally
    rng: random.Random = field(init=False)
    tables: dict[str, list[str]] = field(default_factory=dict)  # table -> its indexes, on AWS
    expected: dict[str, dict] = field(default_factory=dict)  # target -> its setting
    count: int = 3  # the service's
    config: Config = field(default_factory=Config)  # the one rolling out
    hosts: dict[str, Host] = field(default_factory=dict)
    configs: dict[str, Config] = field(default_factory=dict)  # each host's now
    clusters: dict[str, tuple[str, ...] | None] = field(default_factory=dict)  # id -> tables
    made: dict[str, object] = field(default_factory=dict)  # index target -> when it was made
    trace: list[str] = field(default_factory=list)
    made_names: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        w = self.world
        w.create_service(desired=self.count)
        w.create_state_table(TABLE)
        crowd(w)
        for table, indexes in (("orders", ["by-date"]), ("users", [])):
            add_table(w, table, indexes=indexes)
            self.tables[table] = list(indexes)
        self.expected = self.flags()
        for name in "abc":
            self.hosts[name] = Host(
                w,
                self.folder / name,
                self.clock,
                STATE_TABLE=TABLE,
                WRITE_WORKERS="1",
                FAILSAFE_MINUTES="30",
                FAILSAFE_ROLE_ARN=ROLE,
                CLUSTER_TABLES_TAG="backup-tables",
            )
            self.configs[name] = Config()
        for name in self.hosts:  # the first runs, with nothing recorded anywhere
            self.run(name, kill=False)

    # --- what AWS holds, and the record ---------------------------------------------------------

    def flags(self) -> dict[str, dict]:
        return {t: s for t, (s, _, _) in targets(self.world).items()}

    def targets_of(self, table: str) -> list[tuple[str, str]]:
        """(target, side) of a table and its indexes, as AWS has them."""
        resources = [f"table/{table}", *(f"table/{table}/index/{i}" for i in self.tables[table])]
        return [(f"{r} {SIDES[side].split(':')[-1]}", side) for r in resources for side in SIDES]

    def record(self) -> dict:
        return self.world.pause_item(TABLE).get(PAUSER, {}).get("flat") or {}

    def schedules(self) -> list[dict]:
        client = self.world.scheduler()
        try:
            found = client.list_schedules(GroupName=GROUP)["Schedules"]
        except client.exceptions.ResourceNotFoundException:
            return []
        return [client.get_schedule(Name=s["Name"], GroupName=GROUP) for s in found]

    def held(self, table: str) -> bool:
        """A backup running now holds the table."""
        return any(
            tables is None or any(fnmatchcase(table, p) for p in tables)
            for tables in self.clusters.values()
        )

    def lease_held(self, host: str) -> bool:
        item = self.world.dynamodb.get_item(TableName=TABLE, Key={"name": {"S": PAUSER}})
        item = item.get("Item", {})
        holder = item.get("lease_holder", {}).get("S")
        until = int(item.get("lease_until", {}).get("N", "0"))
        return holder not in (None, f"{host}:1") and until >= self.clock.now.timestamp()

    # --- the events --------------------------------------------------------------------------

    def night(self, events: int) -> None:
        self.trace = [f"seed {self.seed}, night {self.tally.nights + 1}"]
        for _ in range(self.rng.randint(0, 3)):
            self.set_by_hand()
        for _ in range(events):
            self.tally.events += 1
            self.event()
        self.end()
        self.tally.nights += 1

    def event(self) -> None:
        roll = self.rng.random()
        if roll < 0.55:
            self.run(self.next_host(), kill=self.rng.random() < KILLED)
        elif roll < 0.63 and len(self.clusters) < 3:
            self.start_backup()
        elif roll < 0.70 and self.clusters:
            self.stop_backup(self.rng.choice(list(self.clusters)))
        elif roll < 0.74:
            self.make_index()
        elif roll < 0.77 and len(self.tables) < 5:
            self.make_table()
        elif roll < 0.80:
            self.change_tables()
        elif roll < 0.83:
            self.change_dimensions()
        elif roll < 0.90:
            self.set_by_hand()
        elif roll < 0.96:
            self.lift()
        else:
            self.fire_failsafe()

    def next_host(self) -> str:
        return "abc"[self.tally.events % 3]

    def run(self, name: str, kill: bool, adopt: bool | None = None) -> None:
        """One run of a host, which first takes the config rolling out (or not: `adopt`)."""
        self.clock.now += STEP
        if adopt if adopt is not None else self.rng.random() < 0.5:
            self.configs[name] = Config(self.config.tables, self.config.dims)
        host, config = self.hosts[name], self.configs[name]
        skipped = self.lease_held(name)
        with self.patch.context() as m:
            m.setattr(run_module, "default_holder", lambda: f"{name}:1")
            if kill:
                self._kill(m)
            try:
                code = host.run(**config.env())
            except Killed as e:
                self.trace.append(f"{self.clock.now:%H:%M:%S} {name} killed at {e}")
                self.tally.kills += 1
                return
        self.trace.append(f"{self.clock.now:%H:%M:%S} {name} ran {config}: exit {code}")
        assert code == 0, self.failure(f"{name}'s run ended with exit {code}")
        if skipped:
            self.tally.skipped += 1
            return
        self.tally.runs += 1
        self.check_paused(name)

    def _kill(self, m) -> None:
        """The run dies at one of its first writes, or before it writes its state file."""
        if self.rng.random() < 0.2:

            def die(*args, **kw):
                raise Killed("before the state file")

            m.setattr(run_module, "record", die)
        else:
            kill_at(m, WRITES, self.rng.randint(1, 4), self.rng.random() < 0.5)

    def start_backup(self) -> None:
        listed = sorted(self.tables)
        named = None if self.rng.random() < 0.4 else tuple(self.rng.sample(listed, 1))
        tags = None if named is None else {"backup-tables": ",".join(named)}
        cid = self.world.start_cluster(f"nightly-backup-{len(self.trace)}", tags=tags)
        self.clusters[cid] = named
        self.trace.append(f"backup {cid} starts, backing up {named or 'every table'}")

    def stop_backup(self, cid: str) -> None:
        self.world.stop_cluster(cid)
        del self.clusters[cid]
        self.trace.append(f"backup {cid} ends")

    def make_index(self) -> None:
        table = self.rng.choice(sorted(self.tables))
        self.made_names += 1
        index = f"ix{self.made_names}"
        setting = self.rng.choice(SETTINGS)
        self.world.made_at = self.clock.now
        add_index(self.world, table, index, setting)
        self.tables[table].append(index)
        for target, _ in self.targets_of(table):
            if f"/index/{index} " in target:
                self.expected[target] = setting
                self.made[target] = self.clock.now
        self.trace.append(f"index {table}/{index} made at {setting}")

    def make_table(self) -> None:
        self.made_names += 1
        table = f"events-{self.made_names}"
        setting = self.rng.choice(SETTINGS)
        self.world.made_at = self.clock.now
        add_table(self.world, table, suspended=setting)
        self.tables[table] = []
        for target, _ in self.targets_of(table):
            self.expected[target] = setting
        self.config = Config((*self.config.tables, table), self.config.dims)
        self.trace.append(f"table {table} made at {setting}, and listed")

    def change_tables(self) -> None:
        off = [t for t in self.config.tables if t != "orders"]
        back = sorted(set(self.tables) - set(self.config.tables))
        if back and (not off or self.rng.random() < 0.5):
            tables = (*self.config.tables, self.rng.choice(back))
        elif off:
            gone = self.rng.choice(off)
            tables = tuple(t for t in self.config.tables if t != gone)
        else:
            return
        self.config = Config(tables, self.config.dims)
        self.trace.append(f"the list becomes {tables}")

    def change_dimensions(self) -> None:
        dims = ("read",) if self.config.dims == ("read", "write") else ("read", "write")
        self.config = Config(self.config.tables, dims)
        self.trace.append(f"the dimensions become {dims}")

    def set_by_hand(self) -> None:
        """A person sets a target that nothing of the pause holds: that is its setting now."""
        record = self.record()
        kept = {*record.get("saved", {}), *record.get("schedules", {})}
        holds = {s for s, h in record.get("holds", {}).items() if h.get("paused_at")}
        choices = []
        for table in sorted(self.tables):
            for target, side in self.targets_of(table):
                key = f"dynamodb:us-east-1/{target.split()[0]}:{side}"
                covered = any(c.covers(table, side) for c in (self.config, *self.configs.values()))
                free = not (self.held(table) or table in holds or key in kept)
                if key not in kept and (not covered or free):
                    choices.append((target, side))
        if not self.clusters and "*" not in holds and self.rng.random() < 0.3:
            self.count = self.rng.randint(1, 5)
            self.world.set_desired(self.count)
            self.trace.append(f"a person sets the service to {self.count}")
            return
        if not choices:
            return
        target, side = self.rng.choice(choices)
        setting = self.rng.choice(SETTINGS)
        self._register(target, setting)
        self.expected[target] = setting
        self.trace.append(f"a person sets {target} to {setting}")

    def lift(self) -> None:
        """A person lifts a suspension the pause holds while its backup runs; the next run (on a
        host whose config names it) pauses it again."""
        saved, flags = self.record().get("saved", {}), self.flags()
        hosts = [n for n in self.hosts if not self.lease_held(n)]
        choices = [
            (target, name)
            for table in sorted(self.tables)
            if self.held(table)
            for target, side in self.targets_of(table)
            if f"dynamodb:us-east-1/{target.split()[0]}:{side}" in saved
            and flags[target] == SUSPENDED
            for name in hosts
            if self.configs[name].covers(table, side)
        ]
        if not choices:
            return
        target, name = self.rng.choice(choices)
        setting = self.rng.choice(LIFTS)
        self._register(target, setting)
        self.trace.append(f"a person lifts {target} to {setting} during the backup")
        self.run(name, kill=False, adopt=False)

    def fire_failsafe(self) -> None:
        fired = self.schedules()
        for schedule in fired:
            fire(self.world, schedule, GROUP)
        self.trace.append(f"the failsafe fires {len(fired)} schedules")

    def _register(self, target: str, setting: dict) -> None:
        resource, units = target.split()
        what = "index" if "/index/" in resource else "table"
        register(self.world, resource, f"dynamodb:{what}:{units}", setting)

    # --- what must hold ----------------------------------------------------------------------

    def check_paused(self, name: str) -> None:
        """After a run that went through: what a backup holds, on this host's config, is paused."""
        config, now = self.configs[name], self.clock.now
        if self.clusters:
            assert self.world.desired() == 0, self.failure("the service runs during a backup")
        flags = self.flags()
        for table in config.tables:
            if not self.held(table):
                continue
            for target, side in self.targets_of(table):
                new = target in self.made and now - self.made[target] < FOUND_WITHIN
                if side in config.dims and not new:
                    assert flags[target] == SUSPENDED, self.failure(f"{target} runs in a backup")

    def end(self) -> None:
        """The backups end, every host takes the same config and runs until nothing is paused;
        then everything is as it was, or as a person set it, and no schedule is left."""
        for cid in sorted(self.clusters):
            self.stop_backup(cid)
        for name in self.hosts:
            self.configs[name] = Config(self.config.tables, self.config.dims)
        for _ in range(4):
            for name in self.hosts:
                self.run(name, kill=False, adopt=True)
            record = self.record()
            if not (record.get("holds") or record.get("saved") or record.get("schedules")):
                break
        record = self.record()
        assert not (record.get("holds") or record.get("saved")), self.failure("a pause is left")
        assert self.schedules() == [], self.failure("a schedule is left")
        assert self.world.desired() == self.count, self.failure("the service's count")
        wrong = {t: s for t, s in self.flags().items() if s != self.expected.get(t)}
        assert wrong == {}, self.failure(f"not as before the night: {wrong}")

    def failure(self, what: str) -> str:
        return f"{what}\n" + "\n".join(self.trace[-40:])
