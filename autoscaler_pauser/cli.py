"""The command line: arguments, logging, and the wiring of one command."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import textwrap
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from importlib.util import find_spec
from typing import Any

from . import Exit, __version__
from .aws import Aws, SessionError, make_clients, new_session, regions_of
from .commands import cmd_loop, cmd_run
from .config import CONFIG_ENV, KEYS, Config, ConfigError, load_config
from .logs import setup_logging, text_lines
from .state_file import StateFileError, check_files, check_state
from .status import cmd_status

log = logging.getLogger("autoscaler-pauser")

# The packages the tool needs (pyproject.toml's dependencies), by the module each is imported as.
PACKAGES = {"boto3": "boto3", "yaml": "PyYAML", "filelock": "filelock"}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help=f"YAML config file (default: ${CONFIG_ENV}, else none)",
    )
    parser = argparse.ArgumentParser(
        prog="autoscaler-pauser",
        parents=[common],
        description="Pause a DynamoDB autoscaler while backup EMR clusters run.",
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--dry-run", action="store_true", help="observe and print the plan; write nothing"
    )
    parser.add_argument(
        "--loop",
        action="store_true",
        help="run every interval in one process until SIGTERM or SIGINT (container mode)",
    )
    parser.add_argument(
        "--interval",
        metavar="SECONDS",
        help="seconds between runs with --loop, 1 to 86400 (default: the interval key, 60)",
    )
    sub = parser.add_subparsers(dest="command", metavar="{run,status,check-config,history}")
    run = sub.add_parser("run", parents=[common], help="one reconcile run (the default)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS,
        help="observe and print the plan; write nothing",
    )
    run.add_argument(
        "--loop",
        action="store_true",
        default=argparse.SUPPRESS,
        help="run every interval in one process until SIGTERM or SIGINT (container mode)",
    )
    run.add_argument(
        "--interval",
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help="seconds between runs with --loop, 1 to 86400 (default: the interval key, 60)",
    )
    status = sub.add_parser("status", parents=[common], help="show the state file")
    status.add_argument("--json", action="store_true", help="print it as JSON")
    status.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless the last run succeeded within three intervals (a health check)",
    )
    sub.add_parser("check-config", parents=[common], help="validate the config and exit")
    history = sub.add_parser(
        "history", parents=[common], help="the pauses the pause record keeps, newest first"
    )
    history.add_argument("--json", action="store_true", help="print them as JSON")
    history.add_argument(
        "--since", metavar="TIME", help="those on, and those that ended within 90m, 12h, 7d, 2w…"
    )
    history.add_argument("--table", metavar="NAME", help="the pauses of this table only")
    return parser


def epilog() -> str:
    """The environment variables, the exit codes and the docs, for --help."""
    names = [k.env if k.env == k.name.upper() else f"{k.env} ({k.name})" for k in KEYS]
    variables = textwrap.fill(
        ", ".join(names), width=78, initial_indent="    ", subsequent_indent="    "
    )
    codes = "\n".join(f"  {int(code)}  {code.meaning}" for code in Exit)
    return (
        f"environment:\n  {CONFIG_ENV}: the config file, when --config is not given\n"
        "  each key of the config, its name upper-cased, wins over the file:\n"
        f"{variables}\n\n"
        f"exit codes:\n{codes}\n\n"
        "docs: docs/configuration.md (every key, its type and default; the commands)"
    )


def usage_problem(args: argparse.Namespace) -> str | None:
    """Options that do not go with the command, or a value no option takes, whatever the
    config."""
    command = args.command or "run"
    for option, given in (("--loop", args.loop), ("--dry-run", args.dry_run)):
        if given and command != "run":
            return f"{option} goes with run, not {command}"
    if args.interval is not None and not args.loop:
        return "--interval goes with --loop"
    if args.loop and args.dry_run:
        return "--loop and --dry-run do not go together"
    if command == "history" and args.since is not None:
        from .timeline import since_option

        try:
            since_option(args.since)
        except ValueError as e:
            return str(e)
    return None


def missing_packages() -> str | None:
    """The packages the tool needs that this Python lacks, and how to install them."""
    missing = [package for module, package in PACKAGES.items() if find_spec(module) is None]
    if not missing:
        return None
    return (
        f"missing Python package{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
        f"pip install {' '.join(missing)} (or install the tool: pip install . in its source "
        "folder)"
    )


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    aws_factory: Callable[[Config, Any], Aws] = make_clients,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> int:
    with interrupt_as_terminate():
        return _main(argv, environ, aws_factory, now)


@contextlib.contextmanager
def interrupt_as_terminate() -> Iterator[None]:
    """Ctrl-C (SIGINT) ends the command as SIGTERM does: at once, with no traceback (a run is
    made to be killed at any point); --loop stops both between runs. Signals reach only the
    main thread, and the handler before is put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _main(
    argv: Sequence[str] | None,
    environ: Mapping[str, str] | None,
    aws_factory: Callable[[Config, Any], Aws],
    now: Callable[[], datetime],
) -> int:
    environ = os.environ if environ is None else environ
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    wrong = usage_problem(args) or missing_packages()
    if wrong:
        print(f"autoscaler-pauser: {wrong}", file=sys.stderr)
        return Exit.USAGE
    path = getattr(args, "config", None) or environ.get(CONFIG_ENV) or None
    setup_logging("DEBUG_OUTPUT" in environ, text_lines(environ))
    try:
        # One botocore session: its endpoint data serves both the region check and the clients.
        session = None if args.command == "status" else new_session()
        config = configure(args, path, environ, session)
    except (ConfigError, SessionError) as e:
        print("\n".join(f"autoscaler-pauser: {p}" for p in e.problems), file=sys.stderr)
        return Exit.USAGE
    setup_logging(config.debug_output, text_lines(environ))
    log.debug("config %s: %s", path or "(environment only)", dataclasses.asdict(config))
    try:
        return command(args, config, path, lambda c: aws_factory(c, session), now)
    except StateFileError as e:
        print(f"autoscaler-pauser: {e}", file=sys.stderr)
        return Exit.USAGE
    except Exception as e:
        log.error("run failed: %s: %s", type(e).__name__, e)
        if config.debug_output:
            log.debug("%s", traceback.format_exc())
        return Exit.FAILURE


def configure(
    args: argparse.Namespace, path: str | None, environ: Mapping[str, str], session: Any
) -> Config:
    """The config the command needs: without a session (status), only where the state is."""
    return load_config(
        path,
        environ,
        overrides={"interval": (args.interval, "--interval")} if args.interval else None,
        regions=None if session is None else regions_of(session),
        complete=args.command not in ("status", "history"),
    )


def command(
    args: argparse.Namespace,
    config: Config,
    path: str | None,
    aws_factory: Callable[[Config], Aws],
    now: Callable[[], datetime],
) -> Exit:
    """The command the arguments name, with the config loaded."""
    if args.command == "check-config":
        check_files(config, create=False)
        check_state(config)
        print(f"config OK: {path or 'environment only'}")
        return Exit.OK
    if args.command == "status":
        return cmd_status(config, args.json, args.check, now(), sys.stdout)
    if args.command == "history":
        from .timeline import cmd_history, since_option

        since = since_option(args.since) if args.since else None  # checked by usage_problem
        return cmd_history(config, aws_factory, args.json, since, args.table, now(), sys.stdout)
    if not args.loop:
        return cmd_run(config, aws_factory, now, dry_run=args.dry_run)
    return cmd_loop(config, aws_factory, now, config.interval)


if __name__ == "__main__":
    sys.exit(main())
