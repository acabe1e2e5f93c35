"""Every file made from the table of keys, by `make docs`: config.example.yaml, the table of keys
in docs/configuration.md, the Ansible role's defaults, argument specs and config template, and
the table of its variables in docs/hosts.md. A file that holds hand-written parts too has its
made part between markers. DERIVED is the list; a test holds each file to it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import KEYS
from .keys import Key, Kind, Required

MADE = "made by `make docs` from the key table"
ROLE = "ansible/roles/autoscaler_pauser"


def _yaml_value(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def _required(key: Key) -> str | None:
    """Whether a key must be given: "required", "required unless …", or None."""
    if key.required is Required.NO:
        return None
    return "required" if key.required is Required.YES else f"required for {key.target}"


def _requirement(key: Key) -> str:
    return _required(key) or f"default: {_yaml_value(key.default)}"


def with_block(text: str, name: str, body: str) -> str:
    """text with the part between its markers `name: MADE` and `/name` made anew from body. The
    markers are comments of the file's language (`<!-- … -->` in Markdown, `# …` in YAML); the
    body is indented as the start marker is."""
    for opening, closing in (("<!-- ", " -->"), ("# ", "")):
        start, end = f"{opening}{name}: {MADE}{closing}\n", f"{opening}/{name}{closing}"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            indent = head.rsplit("\n", 1)[-1]
            lines = "".join(f"{indent}{line}\n" if line else "\n" for line in body.splitlines())
            return head + start + lines + indent + end + rest.split(end, 1)[1]
    raise ValueError(f"no markers '{name}: {MADE}' … '/{name}'")


# --- config.example.yaml and docs/configuration.md ------------------------------------------


def example_yaml() -> str:
    """config.example.yaml, made from KEYS."""
    out = [
        "# autoscaler-pauser configuration: every key, with its default; made by `make docs`.",
        "# Every key can also be set by the environment variable of the same name in upper case",
        "# (emr_prefix: EMR_PREFIX); the environment wins over this file.",
        "",
    ]
    for key in KEYS:
        out.append(f"# {key.help[0].upper()}{key.help[1:]}.")
        out.append(f"# {key.type_name}, {_requirement(key)}; env {key.env}")
        if key.example is not None:
            out.append(f"{key.name}: {_yaml_value(key.example)}")
        else:
            out.append(f"# {key.name}: {_yaml_value(key.default)}")
        out.append("")
    return "\n".join(out)


def config_table() -> str:
    """The table of keys, made from KEYS."""
    rows = ["| key | environment | type | default | meaning |", "|---|---|---|---|---|"]
    for key in KEYS:
        default = _requirement(key).removeprefix("default: ")
        default = default if key.required is not Required.NO else f"`{default}`"
        rows.append(f"| `{key.name}` | `{key.env}` | {key.type_name} | {default} | {key.help} |")
    return "\n".join(rows) + "\n"


# --- the Ansible role ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleType:
    """How the role takes a kind of value: its argument spec, and the filter the config template
    puts it through before to_json (an INI inventory gives every value as a string)."""

    spec: dict[str, Any]
    convert: str | None


TEXT = RoleType({"type": "str"}, "string")
ROLE_TYPES = {
    Kind.PREFIXES: RoleType({"type": "raw"}, None),  # a string or a list of them
    Kind.TABLES: RoleType({"type": "list", "elements": "str"}, "list"),
    Kind.DIMENSIONS: RoleType(
        {"type": "list", "elements": "str", "choices": ["read", "write"]}, "list"
    ),
    Kind.TABLE: TEXT,
    Kind.REGION: TEXT,
    Kind.STR: TEXT,
    Kind.NAMES: RoleType({"type": "list", "elements": "str"}, "list"),
    Kind.TAG_KEY: TEXT,
    Kind.PAUSER_NAME: TEXT,
    Kind.EVENT_BUS: TEXT,
    Kind.PATH: TEXT,
    Kind.INT: RoleType({"type": "int"}, "int"),
    Kind.NUMBER: RoleType({"type": "float"}, "float"),
    Kind.BOOL: RoleType({"type": "bool"}, "bool"),
    Kind.FLAG: RoleType({"type": "bool"}, "bool"),
}


def variable(key: Key) -> str:
    """The role's variable for a key."""
    return f"autoscaler_pauser_{key.name}"


def _role_default(key: Key) -> Any:
    """A required key's variable is "" until it is set (as an INI inventory leaves it), any other
    the tool's own default."""
    return "" if key.required is not Required.NO else key.default


def role_defaults() -> str:
    """defaults/main.yml's variables of the config keys."""
    lines = []
    for key in KEYS:
        requirement = _required(key)
        comment = f"  # {requirement}" if requirement else ""
        lines.append(f"{variable(key)}: {_yaml_value(_role_default(key))}{comment}")
    return "\n".join(lines) + "\n"


def role_specs() -> str:
    """meta/argument_specs.yml's options of the config keys."""
    lines = []
    for key in KEYS:
        lines.append(f"{variable(key)}:")
        spec = dict(ROLE_TYPES[key.kind].spec)
        if key.required is Required.YES:
            spec["required"] = True
        lines += [f"  {name}: {_yaml_value(value)}" for name, value in spec.items()]
        requirement = _required(key)
        description = key.help + (f"; {requirement}" if requirement else "")
        lines += [
            "  description: >-",
            *textwrap.wrap(description, 92, initial_indent="    ", subsequent_indent="    "),
        ]
    return "\n".join(lines) + "\n"


def role_template() -> str:
    """templates/config.yaml.j2: each key whose variable is set, through its kind's filter."""
    out = [
        "{{ ansible_managed | comment }}",
        f"{{# This template is {MADE}: change that, not this file. #}}",
        "# autoscaler-pauser's config: each key from the role's variable of its name with",
        '# autoscaler_pauser_ before it. A variable that is null or "" leaves its key out (the',
        "# tool's default holds); an empty list is written as []. Checked by `autoscaler-pauser",
        "# check-config` before it replaced the last one.",
    ]
    for key in KEYS:
        var = variable(key)
        convert = ROLE_TYPES[key.kind].convert
        filters = f" | {convert} | to_json" if convert else " | to_json"
        out.append(f"{{% if {var} not in [none, ''] %}}")
        out.append(f"{key.name}: {{{{ {var}{filters} }}}}")
        out.append("{% endif %}")
    return "\n".join(out) + "\n"


def hosts_table() -> str:
    """docs/hosts.md's table of the role's variables of the config keys."""
    rows = ["| variable | config key | type | default |", "|---|---|---|---|"]
    for key in KEYS:
        default = _required(key) or f"`{_yaml_value(key.default)}`"
        rows.append(f"| `{variable(key)}` | `{key.name}` | {key.type_name} | {default} |")
    return "\n".join(rows) + "\n"


# --- the files ----------------------------------------------------------------------------------

# Each file made from KEYS, by its path in the repository: its text made anew from its old text.
DERIVED: dict[str, Callable[[str], str]] = {
    "config.example.yaml": lambda _: example_yaml(),
    "docs/configuration.md": lambda text: with_block(text, "keys", config_table()),
    "docs/hosts.md": lambda text: with_block(text, "role-keys", hosts_table()),
    f"{ROLE}/defaults/main.yml": lambda text: with_block(text, "keys", role_defaults()),
    f"{ROLE}/meta/argument_specs.yml": lambda text: with_block(text, "keys", role_specs()),
    f"{ROLE}/templates/config.yaml.j2": lambda _: role_template(),
}


def remake(root: str | Path) -> list[str]:
    """Write every file of DERIVED under root that is not as KEYS makes it; their paths."""
    changed = []
    for name, make in DERIVED.items():
        path = Path(root) / name
        old = path.read_text() if path.exists() else ""
        new = make(old)
        if new != old:
            path.write_text(new)
            changed.append(name)
    return changed
