"""Request models: ``FalBaseModel``, ``Field`` and ``Hidden``.

Fields keep the order they are declared in (pydantic does), and ``Hidden``
fields stay out of the published JSON schema's ``x-fal-order-properties``
and are marked ``hidden`` for UIs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from pydantic.fields import FieldInfo


def _order_properties(schema: dict[str, Any], model: type[BaseModel]) -> None:
    properties = schema.get("properties", {})
    visible = [
        name for name, value in properties.items() if not value.get("hidden", False)
    ]
    schema["x-fal-order-properties"] = visible


class FalBaseModel(BaseModel):
    """A request or response model whose schema lists fields in order."""

    model_config = ConfigDict(json_schema_extra=_order_properties)


def Field(*args: Any, ui: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A pydantic field; ``ui`` adds hints for generated forms."""
    if ui:
        extra = dict(kwargs.pop("json_schema_extra", None) or {})
        extra["ui"] = ui
        kwargs["json_schema_extra"] = extra
    return PydanticField(*args, **kwargs)


def Hidden(field: Any) -> Any:
    """Mark ``field`` (a ``Field(...)`` with a default) as hidden from UIs."""
    if not isinstance(field, FieldInfo):
        raise TypeError(f"Hidden() takes a Field(...), not {field!r}.")
    if field.is_required():
        raise ValueError(
            "Hidden fields need a default value: callers never see them, so "
            "they cannot supply one; pass Field(default=...)."
        )
    existing = field.json_schema_extra
    if callable(existing):
        raise TypeError("Hidden() cannot extend a callable json_schema_extra.")
    extra = {**(existing or {}), "hidden": True}
    # A new FieldInfo: pydantic rebuilds fields from the options they were
    # made with, so setting the attribute afterwards would be lost.
    return FieldInfo.merge_field_infos(field, json_schema_extra=extra)


__all__ = ["FalBaseModel", "Field", "Hidden"]
