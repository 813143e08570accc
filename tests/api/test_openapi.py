"""The OpenAPI description documents every operation with examples: each JSON request body
and each JSON answer has one, every example is valid for its model, and errors are described
in the service's own shape ({error, message, details})."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import BaseModel
from support.service import Service

from api import schemas
from api.main import create_app
from api.settings import load_settings


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    settings = load_settings({"HEITJE_API_WORKER": "off", "HEITJE_API_DATABASE_URL": "sqlite://"})
    return create_app(settings).openapi()


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def has_example(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = resolve(spec, schema)
    if schema.get("examples") or schema.get("example") is not None:
        return True
    if schema.get("type") == "array":
        return has_example(spec, schema["items"])
    variants = schema.get("anyOf") or schema.get("oneOf") or []
    real = [v for v in variants if v.get("type") != "null"]
    return bool(real) and all(has_example(spec, v) for v in real)


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_operation_has_examples_and_documented_errors(spec: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(spec):
        where = f"{method} {path}"
        if not operation.get("description") and not operation.get("summary"):
            missing.append(f"{where}: no description")
        body = operation.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            if media == "application/json" and not has_example(spec, content["schema"]):
                missing.append(f"{where}: request body without an example")
        for status, answer in operation["responses"].items():
            json_answer = answer.get("content", {}).get("application/json")
            if json_answer is None:
                continue
            schema = json_answer.get("schema", {})
            if status.startswith("2") and not (json_answer.get("example") or
                                               has_example(spec, schema)):  # fmt: skip
                missing.append(f"{where}: answer {status} without an example")
            if status.startswith(("4", "5")) and resolve(spec, schema) != resolve(
                spec, {"$ref": "#/components/schemas/ErrorOut"}
            ):
                missing.append(f"{where}: error {status} not in the service's error shape")
        if "422" not in operation["responses"] and (
            operation.get("parameters") or operation.get("requestBody")
        ):
            missing.append(f"{where}: its input errors (422) are not described")
    assert missing == []


def models() -> list[type[BaseModel]]:
    import api.routes as routes_package

    found = {
        obj
        for module in [schemas, *[m for _, m in inspect.getmembers(routes_package)]]
        if inspect.ismodule(module)
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, BaseModel) and obj.__module__.startswith("api.")
    }
    return sorted(found, key=lambda m: m.__name__)


@pytest.mark.parametrize("model", models(), ids=lambda m: m.__name__)
def test_each_example_is_valid_for_its_model(model: type[BaseModel]) -> None:
    extra = model.model_config.get("json_schema_extra")
    if callable(extra) or model in (schemas.Strict,):
        return  # Page builds its example from its items'; Strict is only a base
    assert isinstance(extra, dict) and extra.get("examples"), f"{model.__name__} has no example"
    for example in extra["examples"]:
        model.model_validate(example)


def test_errors_really_come_in_the_documented_shape(service: Service) -> None:
    answers = [
        service.http.get("/residents/me"),  # 401
        service.http.post("/jobs", json={"title": 5}),  # 401 before validation
        service.http.post("/auth/login", json={"username": "x"}),  # 422
        service.http.get("/jobs/0", headers=service.login("admin", "development-admin")),  # 422
    ]
    for answer in answers:
        assert answer.status_code in (401, 422), answer.text
        schemas.ErrorOut.model_validate(answer.json())
