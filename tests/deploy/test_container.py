"""The image, as its Dockerfile says it (there is no Docker engine here to build it;
tests/e2e/test_loop.py and test_hardening.py run its command and its health check): it runs as a
numeric user other than root, who owns the state folder; and the health checks that
docs/operations.md gives ECS and Kubernetes, which ignore the image's HEALTHCHECK, run the same
command on the same timing."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

import yaml

from autoscaler_pauser.keys import DEFAULT_STATE_FILE
from tests.support.docs import pages
from tests.support.tool import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions and their arguments, continued lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, rest = line.partition(" ")
            found.append((name.upper(), " ".join(rest.split())))
    return found


def last(name: str) -> str:
    return [rest for n, rest in instructions() if n == name][-1]


def health_check() -> tuple[dict[str, int], list[str]]:
    """The HEALTHCHECK's options in seconds (--retries as a count) and its command."""
    options, _, command = last("HEALTHCHECK").partition(" CMD ")
    seconds = {}
    for option in options.split():
        name, _, value = option.removeprefix("--").partition("=")
        seconds[name] = int(value.removesuffix("s"))
    return seconds, json.loads(command)


def test_the_image_runs_as_a_numeric_user_other_than_root_who_owns_the_state_folder():
    # A name would leave Kubernetes' runAsNonRoot unable to tell that the user is not root.
    user = re.fullmatch(r"(\d+):(\d+)", last("USER"))
    assert user, f"USER {last('USER')}: a numeric uid:gid"
    uid, gid = user.groups()
    assert int(uid) != 0 and int(gid) != 0
    [made] = [rest for name, rest in instructions() if name == "RUN" and "useradd" in rest]
    assert f"groupadd --system --gid {gid} " in made
    assert re.search(rf"useradd .*--uid {uid} --gid {gid} ", made), made
    folder = str(PurePosixPath(DEFAULT_STATE_FILE).parent)
    assert f"install -d -m 0700 -o {uid} -g {gid} {folder}" in made, "the state folder is theirs"
    assert last("WORKDIR") == folder


def test_the_image_installs_the_package_with_its_dependencies():
    """boto3, PyYAML and filelock, from pyproject.toml: pip installs the package's folder with
    its dependencies, not from a list of its own."""
    [install] = [rest for name, rest in instructions() if name == "RUN" and "pip install" in rest]
    assert re.fullmatch(r"pip install --no-cache-dir \. && rm -rf /src", install), install
    assert ("COPY", "pyproject.toml README.md ./") in instructions()


def fenced(page: str, language: str, holding: str) -> str:
    """The one code block of a language in a page that holds a word."""
    text = (ROOT / "docs" / page).read_text()
    blocks = [b for b in re.findall(rf"```{language}\n(.*?)```", text, re.S) if holding in b]
    assert len(blocks) == 1, f"docs/{page}: one {language} block with {holding}"
    return blocks[0]


def test_the_docs_give_ecs_the_image_s_health_check():
    timing, command = health_check()
    container = json.loads(fenced("operations.md", "json", '"healthCheck"'))
    assert container["healthCheck"] == {
        "command": ["CMD", *command],
        "interval": timing["interval"],
        "timeout": timing["timeout"],
        "retries": timing["retries"],
        "startPeriod": timing["start-period"],
    }


def test_the_docs_give_kubernetes_the_image_s_health_check_and_a_non_root_user():
    timing, command = health_check()
    [container] = yaml.safe_load(fenced("operations.md", "yaml", "livenessProbe:"))["containers"]
    assert container["livenessProbe"] == {
        "exec": {"command": command},
        "initialDelaySeconds": timing["start-period"],
        "periodSeconds": timing["interval"],
        "timeoutSeconds": timing["timeout"],
        "failureThreshold": timing["retries"],
    }
    assert container["securityContext"]["runAsNonRoot"] is True


def test_no_page_says_ecs_or_kubernetes_heed_the_image_s_health_check():
    for page in [*pages(), DOCKERFILE]:
        text = " ".join(page.read_text().split())
        for sentence in re.split(r"(?<=[.:;])\s", text):
            if "HEALTHCHECK" in sentence and re.search(r"\bECS\b|Kubernetes", sentence):
                assert "ignore" in sentence, f"{page.name}: {sentence}"
