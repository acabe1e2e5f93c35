"""The deployment files, checked by the real tools: systemd-analyze, ansible-lint, and (marked
`deploy`, run by `make test-deploy`) ansible-playbook applied to this host as root. systemd is not
PID 1 here, so the unit's seccomp lines (system calls, address families, W^X) are rebuilt with
libseccomp from systemd's own syscall groups and the installed command is run inside them; the
mount-namespace settings (ProtectSystem=…) are only rated by `systemd-analyze security`."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from autoscaler_pauser.config import KEYS, Config, load_config
from autoscaler_pauser.keys import DEFAULT_STATE_FILE, Kind, Required
from tests.support.tool import FAKE_CREDENTIALS, ROOT
from tests.support.world import REGION

SERVICE = ROOT / "systemd" / "autoscaler-pauser.service"
TIMER = ROOT / "systemd" / "autoscaler-pauser.timer"
CRON = ROOT / "systemd" / "autoscaler-pauser.cron"
ROLE = ROOT / "ansible" / "roles" / "autoscaler_pauser"
PLAYBOOK = ROOT / "ansible" / "playbook.yml"
BIN = Path(sys.executable).parent
USER = "autoscaler-pauser"
CONFIG = Path("/etc/autoscaler-pauser/config.yaml")
STATE = Path(DEFAULT_STATE_FILE)


def need(command: str | Path) -> str:
    """The command's path. Where it is missing the test is skipped, or fails where the tools were
    promised (REQUIRE_DEPLOY_TOOLS=1, as .ci/run sets it)."""
    path = shutil.which(command)
    if path:
        return path
    message = f"{command} is not installed here"
    if os.environ.get("REQUIRE_DEPLOY_TOOLS"):
        pytest.fail(f"{message}, and REQUIRE_DEPLOY_TOOLS is set")
    pytest.skip(message)


def unit(path: Path) -> dict[str, list[str]]:
    """Each key of a unit file with its values, in order (a key may be given more than once)."""
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key, []).append(value)
    return keys


def seconds(timespan: str) -> float:
    """A systemd time span in seconds, as systemd itself reads it."""
    out = subprocess.run(
        [need("systemd-analyze"), "timespan", timespan], capture_output=True, text=True, check=True
    ).stdout
    return int(re.search(r"μs: (\d+)", out).group(1)) / 1e6


def cron_entries() -> list[list[str]]:
    """The cron.d entries: 5 time fields, the user, the command."""
    entries = []
    for line in CRON.read_text().splitlines():
        if not line.strip() or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split(None, 6)
        entries.append(fields)
    return entries


def tool_env(endpoint: str) -> list[str]:
    """A clean environment for the installed tool, talking to moto server on loopback only."""
    return [
        "PATH=/usr/bin:/bin",
        f"AWS_ENDPOINT_URL={endpoint}",
        "AWS_EC2_METADATA_DISABLED=true",
        "AWS_CONFIG_FILE=/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/aws-credentials",
        *(f"{k}={v}" for k, v in FAKE_CREDENTIALS.items()),
    ]


# --- systemd units -------------------------------------------------------------------------------


def test_units_pass_systemd_analyze_verify():
    r = subprocess.run(
        [need("systemd-analyze"), "verify", str(SERVICE), str(TIMER)],
        capture_output=True,
        text=True,
    )
    problems = [
        line
        for line in (r.stdout + r.stderr).splitlines()
        if line.strip() and "is not executable: No such file or directory" not in line
    ]
    assert problems == []


def test_service_exposure_is_at_most_1_5():
    r = subprocess.run(
        [need("systemd-analyze"), "security", "--offline=yes", "--no-pager", str(SERVICE)],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_COLORS": "0"},
    )
    found = re.search(r"Overall exposure level for autoscaler-pauser\.service: ([\d.]+)", r.stdout)
    assert found, r.stdout + r.stderr
    assert float(found.group(1)) <= 1.5, r.stdout


def test_service_runs_installed_command_once_as_service_user_in_its_state_folder():
    s = unit(SERVICE)
    assert s["Type"] == ["oneshot"]
    assert s["User"] == [USER] and s["Group"] == [USER]
    assert shlex.split(s["ExecStart"][0]) == [
        "/opt/autoscaler-pauser/venv/bin/autoscaler-pauser",
        "--config",
        str(CONFIG),
    ]
    # The tool's default state file is in the folder StateDirectory= makes: no config needed.
    assert f"/var/lib/{s['StateDirectory'][0]}" == str(STATE.parent)
    assert s["StateDirectoryMode"] == ["0700"] and s["UMask"] == ["0077"]
    assert s["RestrictAddressFamilies"] == ["AF_INET AF_INET6"]
    assert s["NoNewPrivileges"] == ["yes"] and s["ProtectSystem"] == ["strict"]


def test_timer_fires_every_60_s_to_the_second_and_run_ends_before_the_next():
    t = unit(TIMER)
    assert seconds(t["OnUnitActiveSec"][0]) == 60
    assert seconds(t["AccuracySec"][0]) == 1
    assert 0 < seconds(t["OnBootSec"][0]) <= 60
    assert t["WantedBy"] == ["timers.target"]
    assert seconds(unit(SERVICE)["TimeoutStartSec"][0]) < 60


# --- cron ----------------------------------------------------------------------------------------


def test_cron_entry_runs_the_service_command_every_minute_into_syslog():
    entries = cron_entries()
    assert len(entries) == 1
    *when, user, command = entries[0]
    assert when == ["*"] * 5 and user == USER
    assert unit(SERVICE)["ExecStart"][0] in command
    assert re.search(r"2>&1 \| logger -t autoscaler-pauser$", command)
    assert 'MAILTO=""' in CRON.read_text().splitlines()


# --- ansible -------------------------------------------------------------------------------------


def role_defaults() -> dict:
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def role_specs() -> dict:
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]


SPEC_TYPE = {
    Kind.PREFIXES: "raw",
    Kind.REGION: "str",
    Kind.STR: "str",
    Kind.NAMES: "list",
    Kind.TAG_KEY: "str",
    Kind.PAUSER_NAME: "str",
    Kind.EVENT_BUS: "str",
    Kind.PATH: "str",
    Kind.INT: "int",
    Kind.NUMBER: "float",
    Kind.FLAG: "bool",
    Kind.BOOL: "bool",
    Kind.TABLES: "list",
    Kind.DIMENSIONS: "list",
    Kind.TABLE: "str",
}


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.name)
def test_every_config_key_has_a_role_variable_spec_and_template_line(key):
    var = f"autoscaler_pauser_{key.name}"
    assert var in role_defaults(), f"add {var} to defaults/main.yml"
    spec = role_specs().get(var)
    assert spec, f"add {var} to meta/argument_specs.yml"
    assert spec["type"] == SPEC_TYPE.get(key.kind), f"{key.kind}: add it to SPEC_TYPE"
    assert bool(spec.get("required")) == (key.required is Required.YES)
    if key.required is Required.NO:
        assert role_defaults()[var] == key.default, "the role's default is the tool's"
    template = (ROLE / "templates" / "config.yaml.j2").read_text()
    assert re.search(rf"^{key.name}: {{{{ {var} [|]", template, re.M), "add it to the template"


def test_role_variables_are_all_declared_and_documented():
    declared = set(role_defaults())
    assert declared == set(role_specs())
    text = (ROOT / "docs" / "hosts.md").read_text()
    assert [v for v in sorted(declared) if f"`{v}`" not in text] == []
    used = set()
    for path in ROLE.rglob("*"):
        if path.suffix in (".yml", ".j2"):
            used |= set(re.findall(r"(?<![\w.])autoscaler_pauser_\w+", path.read_text()))
    assert used <= declared, "every role variable is in defaults/main.yml"


def test_ansible_lint_production_profile_passes():
    r = subprocess.run(
        [
            need(BIN / "ansible-lint"),
            "--offline",
            "--nocolor",
            "--profile",
            "production",
            "ansible/",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Profile 'production' was required, and it passed." in r.stdout + r.stderr


def render_config(tmp_path: Path, extra: dict) -> Path:
    """The config template rendered by Ansible's template module, from the role's defaults and
    extra."""
    (tmp_path / "vars.json").write_text(json.dumps({**role_defaults(), **extra}))
    dest = tmp_path / "config.yaml"
    r = subprocess.run(
        [
            need(BIN / "ansible"),
            "localhost",
            "-c",
            "local",
            "-i",
            "localhost,",
            "-e",
            f"@{tmp_path / 'vars.json'}",
            "-e",
            "ansible_python_interpreter=" + sys.executable,
            "-m",
            "ansible.builtin.template",
            "-a",
            f"src={ROLE / 'templates' / 'config.yaml.j2'} dest={dest} mode=0600",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return dest


def test_config_template_renders_typed_values_the_tool_accepts(tmp_path):
    """Values as an INI inventory gives them (strings) still become the types the tool wants."""
    extra = {
        "autoscaler_pauser_emr_prefix": ["nightly-backup-", "adhoc-export-"],
        "autoscaler_pauser_emr_region": "eu-west-1",
        "autoscaler_pauser_autoscaler_cluster": "autoscaler",
        "autoscaler_pauser_autoscaler_region": "us-east-1",
        "autoscaler_pauser_autoscaler_service": "ddb-scaler",
        "autoscaler_pauser_name": "ddb: scaler #1",  # YAML's special characters, quoted
        "autoscaler_pauser_debug_output": "yes",
        "autoscaler_pauser_resume_count": "2",
        "autoscaler_pauser_lock_timeout": "2.5",
        "autoscaler_pauser_lock_file": "/var/lib/autoscaler-pauser/run.lock",
    }
    dest = render_config(tmp_path, extra)
    assert dest.read_text().startswith("#\n# Ansible managed")
    config = load_config(str(dest), {})
    assert config == Config(
        emr_prefix=("nightly-backup-", "adhoc-export-"),
        emr_region="eu-west-1",
        autoscaler_cluster="autoscaler",
        autoscaler_region="us-east-1",
        autoscaler_service="ddb-scaler",
        name="ddb: scaler #1",
        debug_output=True,
        resume_count=2,
        state_file=str(STATE),
        lock_file="/var/lib/autoscaler-pauser/run.lock",
        lock_timeout=2.5,
    )


def test_config_template_leaves_out_a_null_or_empty_variable_and_writes_an_empty_list(tmp_path):
    extra = {
        "autoscaler_pauser_emr_prefix": "nightly-backup-",
        "autoscaler_pauser_emr_region": "eu-west-1",
        "autoscaler_pauser_dynamodb_tables": ["orders"],
        "autoscaler_pauser_autoscaler_region": "us-east-1",
        "autoscaler_pauser_cluster_tables_tag": "",
        "autoscaler_pauser_lease_seconds": None,
        "autoscaler_pauser_failsafe_group": "",
    }
    written = yaml.safe_load(render_config(tmp_path, extra).read_text())
    left_out = {"autoscaler_cluster", "autoscaler_service", "cluster_tables_tag", "lease_seconds"}
    left_out |= {"failsafe_group", "dynamodb_region", "failsafe_role_arn", "state_table", "name"}
    assert left_out <= {k.name for k in KEYS} - set(written)
    assert written["dynamodb_tables"] == ["orders"] and written["debug_output"] is False
    assert written["resume_grace_seconds"] == 0, "a zero is a value, not unset"

    empty = yaml.safe_load(
        render_config(tmp_path, {**extra, "autoscaler_pauser_dynamodb_tables": []}).read_text()
    )
    assert empty["dynamodb_tables"] == [], "an empty list is said, not left out"


# --- the real apply (make test-deploy) -----------------------------------------------------------

REQUIRED = {
    "autoscaler_pauser_emr_prefix": "nightly-backup-",
    "autoscaler_pauser_emr_region": REGION,
    "autoscaler_pauser_autoscaler_cluster": "autoscaler",
    "autoscaler_pauser_autoscaler_region": REGION,
    "autoscaler_pauser_autoscaler_service": "ddb-scaler",
}
UNITS = [Path("/etc/systemd/system") / n for n in (SERVICE.name, TIMER.name)]
WANTS = Path("/etc/systemd/system/timers.target.wants") / TIMER.name
CRON_D = Path("/etc/cron.d/autoscaler-pauser")
DROP_IN = Path("/etc/systemd/system/autoscaler-pauser.service.d/metrics.conf")
METRICS_DIR = Path("/var/lib/autoscaler-pauser-test-textfile")


def remove_install() -> None:
    """This host as before any apply (system packages stay)."""
    for path in [*UNITS, WANTS, CRON_D]:
        path.unlink(missing_ok=True)
    folders = (DROP_IN.parent, METRICS_DIR, "/opt/autoscaler-pauser", "/etc/autoscaler-pauser")
    for folder in (*map(str, folders), str(STATE.parent)):
        shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(["userdel", USER], capture_output=True)
    subprocess.run(["groupdel", USER], capture_output=True)


def apply(work: Path, name: str, **extra: str) -> SimpleNamespace:
    """ansible-playbook on this host with -c local; the output is kept in work/NAME.log."""
    inventory = work / "inventory.ini"
    inventory.write_text(
        "[autoscaler_pauser]\nlocalhost ansible_connection=local "
        "ansible_python_interpreter=/usr/bin/python3\n"
    )
    (work / f"{name}.json").write_text(json.dumps({**REQUIRED, **extra}))
    started = time.monotonic()
    r = subprocess.run(
        [
            need(BIN / "ansible-playbook"),
            "-i",
            str(inventory),
            "-c",
            "local",
            "-e",
            f"@{work / f'{name}.json'}",
            str(PLAYBOOK),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    (work / f"{name}.log").write_text(r.stdout + r.stderr)
    recap = re.search(r"^localhost\s*:\s*(.*)$", r.stdout, re.M)
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap.group(1))} if recap else {}
    return SimpleNamespace(
        rc=r.returncode, out=r.stdout + r.stderr, counts=counts, seconds=time.monotonic() - started
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A fresh host: a preflight failure, then the playbook applied twice."""
    if os.geteuid() != 0:
        pytest.fail("the deploy tests apply the playbook to this host: run them as root")
    work = tmp_path_factory.mktemp("deploy")
    remove_install()
    preflight = apply(work, "preflight", autoscaler_pauser_emr_region="")
    untouched = not Path("/opt/autoscaler-pauser").exists() and not CONFIG.parent.exists()
    first = apply(work, "first")
    second = apply(work, "second")
    for name, run in (("first", first), ("second", second)):
        print(f"{name} apply: {run.seconds:.1f} s, {run.counts}")
    return SimpleNamespace(
        work=work, preflight=preflight, untouched=untouched, first=first, second=second
    )


@pytest.mark.deploy
def test_preflight_stops_a_missing_variable_before_any_change(deployed):
    p = deployed.preflight
    assert p.rc != 0 and p.counts.get("failed") == 1 and p.counts.get("changed") == 0
    assert "autoscaler_pauser_emr_region is required" in p.out
    assert deployed.untouched


@pytest.mark.deploy
def test_first_apply_installs_and_second_changes_nothing(deployed):
    first, second = deployed.first, deployed.second
    assert first.rc == 0, first.out[-3000:]
    assert first.counts["failed"] == 0 and first.counts["changed"] > 0
    assert second.rc == 0, second.out[-3000:]
    assert second.counts["changed"] == 0, second.out
    # systemd is not PID 1 here: the role says it started nothing, and has not tried.
    if not Path("/run/systemd/system").exists():
        assert "systemd is not PID 1 on localhost" in first.out


@pytest.mark.deploy
def test_installed_tool_accepts_the_rendered_config(deployed):
    r = subprocess.run(
        ["/opt/autoscaler-pauser/venv/bin/autoscaler-pauser", "check-config", "--config", CONFIG],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"config OK: {CONFIG}"


@pytest.mark.deploy
def test_files_are_owned_and_private_as_the_unit_expects(deployed):
    user = pwd.getpwnam(USER)
    assert user.pw_uid < 1000 and user.pw_shell.endswith("nologin")

    def mode(path):
        st = Path(path).stat()
        return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid

    assert mode(CONFIG) == (0o640, 0, user.pw_gid)
    assert mode(CONFIG.parent) == (0o750, 0, user.pw_gid)
    assert mode(STATE.parent) == (0o700, user.pw_uid, user.pw_gid)
    for path in UNITS:
        assert path.read_text() == (ROOT / "systemd" / path.name).read_text()
    assert WANTS.resolve() == UNITS[1], "the timer is enabled"
    assert not CRON_D.exists()


def syscall_groups() -> dict[str, list[str]]:
    """systemd's own syscall groups (@system-service …), as `systemd-analyze syscall-filter`
    lists them."""
    out = subprocess.run(
        [need("systemd-analyze"), "syscall-filter"], capture_output=True, text=True, check=True
    ).stdout
    groups: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif not line.startswith(" "):
            current = None
        elif current is not None and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names: list[str], groups: dict[str, list[str]]) -> set[str]:
    found: set[str] = set()
    for name in names:
        found |= expand(groups[name], groups) if name.startswith("@") else {name}
    return found


def unit_syscalls() -> list[str]:
    """The system calls the unit's SystemCallFilter= lines allow, in systemd's own terms."""
    groups = syscall_groups()
    allowed: set[str] = set()
    for line in unit(SERVICE)["SystemCallFilter"]:
        if line.startswith("~"):
            allowed -= expand(line[1:].split(), groups)
        else:
            allowed |= expand(line.split(), groups)
    return sorted(allowed)


# Runs argv[2:] under seccomp filters as the unit sets them: SystemCallFilter= (others fail with
# EPERM, as SystemCallErrorNumber= says), RestrictAddressFamilies=AF_INET AF_INET6 and
# MemoryDenyWriteExecute=yes. argv[1]: the allowed system calls, comma-separated.
SECCOMP = r"""
import ctypes, errno, os, socket, sys
lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_init.restype = ctypes.c_void_p
ALLOW = 0x7FFF0000
def ERRNO(e): return 0x00050000 | e
class Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
LT, EQ, GT, MASKED_EQ = 2, 4, 6, 7
def load(default, rules):
    ctx = ctypes.c_void_p(lib.seccomp_init(ctypes.c_uint32(default)))
    for action, name, cmps in rules:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            continue  # not a system call of this architecture
        arr = (Cmp * max(len(cmps), 1))(*[Cmp(*c) for c in cmps])
        rc = lib.seccomp_rule_add_array(ctx, ctypes.c_uint32(action), nr, len(cmps), arr)
        assert rc == 0, (name, rc)
    rc = lib.seccomp_load(ctx)
    assert rc == 0, rc
bad_family = ERRNO(errno.EAFNOSUPPORT)
family_rules = [(bad_family, "socket", [(0, LT, socket.AF_INET, 0)]),
                (bad_family, "socket", [(0, GT, socket.AF_INET6, 0)])]
family_rules += [(bad_family, "socket", [(0, EQ, f, 0)])
                 for f in range(socket.AF_INET + 1, socket.AF_INET6)]
load(ALLOW, family_rules)
wx = 0x2 | 0x4  # PROT_WRITE | PROT_EXEC
load(ALLOW, [(ERRNO(errno.EPERM), "mmap", [(2, MASKED_EQ, wx, wx)]),
             (ERRNO(errno.EPERM), "mprotect", [(2, MASKED_EQ, 0x4, 0x4)]),
             (ERRNO(errno.EPERM), "pkey_mprotect", [(2, MASKED_EQ, 0x4, 0x4)]),
             (ERRNO(errno.EPERM), "shmat", [(2, MASKED_EQ, 0o100000, 0o100000)])])
# Last: it may not allow loading another filter.
load(ERRNO(errno.EPERM), [(ALLOW, n, []) for n in sys.argv[1].split(",")])
os.execv(sys.argv[2], sys.argv[2:])
"""


def as_unit_runs_it(argv: list[str], env: list[str]) -> subprocess.CompletedProcess:
    """argv as the service user, umask 0077, under the unit's seccomp filters."""
    return subprocess.run(
        ["/usr/bin/python3", "-c", SECCOMP, ",".join(unit_syscalls()), *argv],
        env=dict(e.split("=", 1) for e in env),
        user=USER,
        group=USER,
        extra_groups=[],
        umask=0o077,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.deploy
def test_seccomp_emulation_blocks_what_the_unit_blocks(deployed):
    """Controls for the test below: the filters are really there."""
    probes = {
        "import socket; socket.socket(socket.AF_UNIX)": "[Errno 97] Address family not supported",
        "import mmap; mmap.mmap(-1, 4096, prot=7)": "PermissionError: [Errno 1]",
        "import os; os.sched_setaffinity(0, {0})": "PermissionError: [Errno 1]",  # @resources
    }
    for code, error in probes.items():
        r = as_unit_runs_it(["/usr/bin/python3", "-c", code], ["PATH=/usr/bin:/bin"])
        assert r.returncode == 1 and error in r.stderr, (code, r.stderr)
    r = as_unit_runs_it(["/usr/bin/python3", "-c", "import os; print(os.getuid())"], [])
    assert r.returncode == 0 and int(r.stdout) == pwd.getpwnam(USER).pw_uid


@contextlib.contextmanager
def syslog():
    """Messages sent to /dev/log while inside, if this host has no syslog socket of its own."""
    path = "/dev/log"
    if os.path.lexists(path):
        yield None
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    try:
        yield sock
    finally:
        sock.close()
        os.unlink(path)


def messages(sock) -> str:
    out = []
    sock.settimeout(0.5)
    with contextlib.suppress(TimeoutError):
        while True:
            out.append(sock.recv(65536).decode(errors="replace"))
    return "\n".join(out)


@pytest.mark.deploy
def test_service_and_cron_commands_pause_and_resume_as_the_service_user(
    deployed, server_world, moto_server
):
    """The unit's ExecStart under its seccomp filters, then the cron line, as autoscaler-pauser,
    against moto server on loopback."""
    w = server_world
    w.create_service(desired=3)
    cid = w.start_cluster("nightly-backup-orders")
    STATE.unlink(missing_ok=True)
    as_user = ["runuser", "-u", USER, "--", "env", "-i", *tool_env(moto_server.url)]

    r = as_unit_runs_it(shlex.split(unit(SERVICE)["ExecStart"][0]), tool_env(moto_server.url))
    assert r.returncode == 0, r.stderr
    assert f"paused ddb-scaler 3 → 0: 1 active cluster matches 'nightly-backup-' ({cid})" in (
        r.stderr
    )
    assert w.desired() == 0
    st = STATE.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == pwd.getpwnam(USER).pw_uid

    w.stop_cluster(cid)
    command = cron_entries()[0][6]
    with syslog() as sock:
        r = subprocess.run(
            [*as_user, "/bin/sh", "-c", command], capture_output=True, text=True, timeout=60
        )
        logged = messages(sock) if sock else None
    assert w.desired() == 3, r.stdout + r.stderr
    assert r.stdout == "", "cron would mail this"
    if logged is not None:
        assert re.search(r"autoscaler-pauser: .*INFO resumed ddb-scaler 0 → 3", logged), logged
    assert json.loads(STATE.read_text())["run"]["last_action"] == "resume"


@contextlib.contextmanager
def no_service_starts():
    """Package installs start no daemon (a cron daemon here would call AWS every minute)."""
    path = Path("/usr/sbin/policy-rc.d")
    if path.exists():
        yield
        return
    path.write_text("#!/bin/sh\nexit 101\n")
    path.chmod(0o755)
    try:
        yield
    finally:
        path.unlink()


@pytest.mark.deploy
def test_switching_to_cron_and_back_leaves_one_scheduler(deployed):
    with no_service_starts():
        to_cron = apply(deployed.work, "cron", autoscaler_pauser_scheduler="cron")
        again = apply(deployed.work, "cron-again", autoscaler_pauser_scheduler="cron")
    assert to_cron.rc == 0, to_cron.out[-3000:]
    assert again.rc == 0 and again.counts["changed"] == 0, again.out
    assert CRON_D.read_text() == CRON.read_text()
    st = CRON_D.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o644, 0)
    assert not any(p.exists() or p.is_symlink() for p in [*UNITS, WANTS])

    back = apply(deployed.work, "systemd-again")
    assert back.rc == 0, back.out[-3000:]
    assert not CRON_D.exists()
    assert all(p.exists() for p in UNITS) and WANTS.resolve() == UNITS[1]


@pytest.mark.deploy
def test_tables_only_with_metrics_file_gets_its_folder_and_a_drop_in(deployed):
    metrics = {
        "autoscaler_pauser_autoscaler_cluster": "",
        "autoscaler_pauser_autoscaler_service": "",
        "autoscaler_pauser_dynamodb_tables": ["orders", "users"],
        "autoscaler_pauser_metrics_file": str(METRICS_DIR / "autoscaler_pauser.prom"),
    }
    with no_service_starts():
        on = apply(deployed.work, "metrics", **metrics)
        again = apply(deployed.work, "metrics-again", **metrics)
        assert on.rc == 0, on.out[-3000:]
        assert again.rc == 0 and again.counts["changed"] == 0, again.out
        lines = DROP_IN.read_text().splitlines()
        assert lines[-2:] == ["[Service]", f"ReadWritePaths={METRICS_DIR}"]
        verify = subprocess.run(
            [need("systemd-analyze"), "verify", str(UNITS[0])], capture_output=True, text=True
        )
        assert "metrics.conf" not in verify.stderr, verify.stderr
        st = METRICS_DIR.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o755, pwd.getpwnam(USER).pw_uid)
        config = yaml.safe_load(CONFIG.read_text())
        assert config["dynamodb_tables"] == ["orders", "users"]
        assert "autoscaler_service" not in config and config["metrics_file"].endswith(".prom")
        off = apply(deployed.work, "metrics-off")
    assert off.rc == 0, off.out[-3000:]
    assert not DROP_IN.exists(), "no metrics file, no drop-in"
