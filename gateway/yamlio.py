"""YAML for the gateway's data files, with YAML 1.2 booleans: only true/false.

PyYAML follows YAML 1.1, where a bare ``NO`` (Norway), ``ON`` or ``Y`` becomes a boolean — fatal for
country codes. Every data file (mappings, code lists, policies, adapters) is read through here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(source: str | Path) -> Any:
    text = source.read_text() if isinstance(source, Path) else source
    return yaml.load(text, Loader=_Loader)
