"""The JSON Schema of the eATA v1 model, generated from the pydantic classes and checked in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.model import CarnetDocument
from gateway.resources import data_dir

SCHEMA_ID = "https://eata-gateway.example/xsd/eata/v1/carnet-document.schema.json"


def json_schema() -> dict[str, Any]:
    schema = CarnetDocument.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_path() -> Path:
    return data_dir("xsd") / "eata" / "v1" / "carnet-document.schema.json"


def render() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m gateway.schema regenerates the checked-in file
    schema_path().write_text(render())
