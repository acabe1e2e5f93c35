"""config.example.yaml and the table of keys in docs/configuration.md, made from KEYS."""

from __future__ import annotations

from typing import Any

from .keys import KEYS, Key, Required


def _yaml_value(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def _requirement(key: Key) -> str:
    if key.required is Required.UNLESS_TABLES:
        return "required unless dynamodb_tables is set"
    if key.required is Required.YES:
        return "required"
    return f"default: {_yaml_value(key.default)}"


def example_yaml() -> str:
    """config.example.yaml, made from KEYS."""
    out = [
        "# autoscaler-pauser configuration: every key, with its default.",
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


# The page that holds the table of keys, between its markers.
KEYS_PAGE = "docs/configuration.md"


def with_key_table(page: str) -> str:
    """The text of KEYS_PAGE with its table of keys remade."""
    start, end = (
        "<!-- keys: made by `make docs` from autoscaler_pauser.keys.KEYS -->\n",
        "<!-- /keys -->",
    )
    head, rest = page.split(start, 1)
    return head + start + config_table() + end + rest.split(end, 1)[1]


def config_table() -> str:
    """The table of keys, made from KEYS."""
    rows = ["| key | environment | type | default | meaning |", "|---|---|---|---|---|"]
    for key in KEYS:
        default = _requirement(key).removeprefix("default: ")
        default = default if key.required is not Required.NO else f"`{default}`"
        rows.append(f"| `{key.name}` | `{key.env}` | {key.type_name} | {default} | {key.help} |")
    return "\n".join(rows) + "\n"
