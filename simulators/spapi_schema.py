"""Validation of SP-API requests and responses against Amazon's Swagger 2.0 models.

The models in ``spapi_models/`` are Amazon's files, unchanged, from
amzn/selling-partner-api-models (commit 34dc93f). Each operation is looked up by its
``operationId``; its parameters, body and per-status response schemas become JSON schemas
(draft 4, the dialect Swagger 2.0 builds on) with the file's ``definitions`` attached so that
``#/definitions/...`` references resolve.
"""

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import jsonschema

MODELS_DIR = Path(__file__).with_name("spapi_models")

# Swagger parameter keys that are JSON-schema validation keywords; the rest (name, in,
# description, x-example, collectionFormat ...) only describe the parameter.
_PARAMETER_SCHEMA_KEYS = {
    "type", "format", "enum", "items", "maximum", "minimum", "exclusiveMaximum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "multipleOf",
}
_USAGE_PLAN = re.compile(r"\|\s*([0-9]*\.?[0-9]+)\s*\|\s*([0-9]+)\s*\|")
# RFC 3339, as Swagger's "date-time" requires: an offset (or Z) is mandatory.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value):
    if not isinstance(value, str):
        return True  # the type keyword reports non-strings
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # rejects 2026-02-30T...
    return True


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value):
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    date.fromisoformat(value)  # rejects 2026-02-30
    return True


def parse_datetime(value):
    """An RFC 3339 string (already validated) as an aware datetime."""
    return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))


class SchemaError(ValueError):
    """A value does not match its schema; ``str()`` says where and why."""


@dataclass
class RatePlan:
    rate: float  # requests per second
    burst: int


@dataclass
class Parameter:
    name: str
    location: str  # path, query, body or header
    required: bool
    schema: dict
    collection_format: str = "csv"


@dataclass
class ResponseSpec:
    status: str  # "200", "404", "default"
    validator: object = None  # jsonschema validator, None when the response has no body
    headers: tuple = ()


@dataclass
class OperationSpec:
    model: str
    operation_id: str
    method: str
    path_template: str
    parameters: list
    responses: dict
    rate_plan: RatePlan = None
    deprecated: bool = False
    _validators: dict = field(default_factory=dict, repr=False)

    @property
    def path_regex(self):
        """The path template as a regex with one named group per ``{parameter}``."""
        parts = re.split(r"(\{\w+\})", self.path_template)
        return "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)

    def parameters_in(self, *locations):
        return [p for p in self.parameters if p.location in locations]

    def validate_parameters(self, values):
        """Validate the coerced path and query values; raise SchemaError on the first problem."""
        for parameter in self.parameters_in("path", "query"):
            if parameter.name not in values:
                if parameter.required:
                    raise SchemaError(f"Missing required parameter '{parameter.name}'.")
                continue
            error = _first_error(self._validator_for(parameter), values[parameter.name])
            if error:
                raise SchemaError(f"Invalid value for parameter '{parameter.name}': {error}")

    def validate_body(self, body):
        """Validate a decoded JSON body against the operation's body parameter, if it has one."""
        for parameter in self.parameters_in("body"):
            if body is None:
                if parameter.required:
                    raise SchemaError("The request body is required.")
                return
            error = _first_error(self._validator_for(parameter), body)
            if error:
                raise SchemaError(f"Invalid request body: {error}")

    def response_problems(self, status, body, headers):
        """Everything wrong with a response the simulator is about to send (empty list: valid)."""
        spec = self.responses.get(str(status)) or self.responses.get("default")
        if spec is None:
            return [f"status {status} is not declared for {self.operation_id}"]
        problems = []
        if spec.validator is None:
            if body not in (None, b"", ""):
                problems.append(f"status {status} of {self.operation_id} declares no body, got one")
        elif not isinstance(body, (dict, list)):
            problems.append(f"status {status} of {self.operation_id} needs a JSON body, got {type(body).__name__}")
        else:
            error = _first_error(spec.validator, body)
            if error:
                problems.append(error)
        sent = {name.lower() for name in headers}
        problems.extend(f"declared header {name} is missing" for name in spec.headers if name.lower() not in sent)
        return problems

    def _validator_for(self, parameter):
        validator = self._validators.get(parameter.name)
        if validator is None:
            validator = self._validators[parameter.name] = _make_validator(parameter.schema, self.model)
        return validator


def _first_error(validator, instance):
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message} (at {where})" if where else error.message


@functools.lru_cache(maxsize=None)
def load_model(name):
    """A parsed model file from ``spapi_models/`` (cached: the files are read-only)."""
    with open(MODELS_DIR / name, encoding="utf-8") as handle:
        return json.load(handle)


def _make_validator(schema, model_name):
    definitions = load_model(model_name).get("definitions", {})
    # allOf keeps a top-level $ref working: in draft 4 a $ref hides its sibling keywords.
    root = {"allOf": [schema], "definitions": definitions}
    return jsonschema.Draft4Validator(root, format_checker=FORMAT_CHECKER)


def _parameter_schema(raw):
    if "schema" in raw:
        return copy.deepcopy(raw["schema"])
    return {k: copy.deepcopy(v) for k, v in raw.items() if k in _PARAMETER_SCHEMA_KEYS}


@functools.lru_cache(maxsize=None)
def operation_spec(model_name, operation_id):
    """The :class:`OperationSpec` of ``operation_id`` in ``model_name``; KeyError if absent."""
    model = load_model(model_name)
    for path, item in model["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if not isinstance(operation, dict) or operation.get("operationId") != operation_id:  # x-amzn-* flags
                continue
            parameters = [
                Parameter(
                    name=raw["name"],
                    location=raw["in"],
                    required=bool(raw.get("required")),
                    schema=_parameter_schema(raw),
                    collection_format=raw.get("collectionFormat", "csv"),
                )
                for raw in shared + operation.get("parameters", [])
            ]
            responses = {
                status: ResponseSpec(
                    status=status,
                    validator=_make_validator(raw["schema"], model_name) if "schema" in raw else None,
                    headers=tuple(raw.get("headers", {})),
                )
                for status, raw in operation["responses"].items()
            }
            plan = _USAGE_PLAN.search(operation.get("description", ""))
            return OperationSpec(
                model=model_name,
                operation_id=operation_id,
                method=method.upper(),
                path_template=path,
                parameters=parameters,
                responses=responses,
                rate_plan=RatePlan(float(plan.group(1)), int(plan.group(2))) if plan else None,
                deprecated=bool(operation.get("deprecated")),
            )
    raise KeyError(f"{operation_id} is not an operation of {model_name}")


def definition_validator(model_name, definition):
    """A validator for one ``#/definitions/<definition>`` of a model (e.g. ``Order``)."""
    return _make_validator({"$ref": f"#/definitions/{definition}"}, model_name)


def validate_definition(model_name, definition, instance):
    """Raise SchemaError when ``instance`` does not match the model's ``definition``."""
    error = _first_error(definition_validator(model_name, definition), instance)
    if error:
        raise SchemaError(f"{definition}: {error}")


def coerce_query_value(schema, values):
    """Turn the raw query strings of one parameter into the JSON type its schema declares.

    Values that do not convert stay strings, so the schema check reports them. Arrays accept
    both Swagger's csv form (``a,b``) and repeated parameters (``x=a&x=b``): python-amazon-
    sp-api sends lists it did not normalize as repeated parameters.
    """
    kind = schema.get("type")
    if kind == "array":
        items = [part for value in values for part in value.split(",") if part != ""]
        return [coerce_query_value(schema.get("items", {}), [item]) for item in items]
    value = values[-1]
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value
