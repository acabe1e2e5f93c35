"""Build the Lambda deployment zip: the package as pip builds it from this checkout, with its
runtime dependencies installed for the function's runtime (CPython 3.12 on x86_64), whatever
Python and machine build it.

    python cloudformation/build_lambda.py dist/autoscaler-pauser-lambda.zip

The zip lists its files in sorted order, each with the same time and mode, so the same source
and the same dependency versions give the same bytes. It holds no __pycache__, no *.pyc, no
tests folders and no console scripts (bin/), which would point at the builder's Python."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent

# The function's runtime: AWS::Lambda::Function Runtime python3.12, Architectures x86_64.
TARGET = [
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    "--only-binary=:all:",
]

# Zip entries get this time (the earliest a zip can hold) and mode, whatever the files had.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644

LEFT_OUT_FOLDERS = {"__pycache__", "tests", "test", "bin"}
LEFT_OUT_SUFFIXES = {".pyc", ".pyo"}


def pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    subprocess.run(command, check=True)


# What pip needs to build the package's wheel; copied out, so that setuptools leaves no build/
# or *.egg-info in the checkout (and no stale build/lib from an earlier build gets in).
SOURCE = ["pyproject.toml", "README.md", "autoscaler_pauser"]


def install(target: Path, work: Path) -> None:
    """The package's wheel, built from this checkout, and its dependencies for the runtime."""
    source, wheels = work / "source", work / "wheels"
    source.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(source))
    [wheel] = wheels.glob("autoscaler_pauser-*.whl")
    pip("install", "--quiet", "--no-compile", *TARGET, "--target", str(target), str(wheel))
    forget_where_the_wheel_was(target)


def forget_where_the_wheel_was(target: Path) -> None:
    """pip records the path and hash of a wheel installed from a file (PEP 610): a temp folder
    that differs at each build. Drop that record and its line in RECORD."""
    for record in target.glob("*.dist-info/direct_url.json"):
        record.unlink()
        listing = record.with_name("RECORD")
        name = f"{record.parent.name}/{record.name},"
        lines = listing.read_text().splitlines(keepends=True)
        listing.write_text("".join(line for line in lines if not line.startswith(name)))


def kept(relative: PurePosixPath) -> bool:
    if any(part in LEFT_OUT_FOLDERS for part in relative.parts[:-1]):
        return False
    return relative.suffix not in LEFT_OUT_SUFFIXES


def write_zip(folder: Path, output: Path) -> int:
    """Zip the folder's files in sorted order with fixed times and modes; the number kept."""
    files = sorted(
        (p.relative_to(folder).as_posix(), p)
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink()
    )
    files = [(name, path) for name, path in files if kept(PurePosixPath(name))]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100000 | FILE_MODE) << 16
            info.create_system = 3  # Unix, so that the mode is read as one
            z.writestr(info, path.read_bytes())
    partial.replace(output)
    return len(files)


def build(output: Path) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autoscaler-pauser-lambda-") as tmp:
        target = Path(tmp) / "target"
        install(target, Path(tmp))
        count = write_zip(target, output)
    size = output.stat().st_size
    print(
        f"{output}: {count} files, {size / 1e6:.1f} MB, built in {time.monotonic() - started:.0f} s"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: build_lambda.py OUTPUT.zip", file=sys.stderr)
        return 2
    build(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
