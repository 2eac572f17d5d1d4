"""Input errors that name the activity (id and index) and the field path, all of them at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class InputErrorItem:
    message: str
    field: str = ""
    activity_id: str | None = None
    index: int | None = None

    def __str__(self) -> str:
        where = []
        if self.index is not None:
            ident = repr(self.activity_id) if self.activity_id is not None else "(no id)"
            where.append(f"activity {ident} (index {self.index})")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, object]:
        return {
            "activity_id": self.activity_id,
            "index": self.index,
            "field": self.field,
            "message": self.message,
        }


class ActivityError(Exception):
    """A problem in one activity found while calculating it; ``field`` names the activity field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InventoryInputError(ValueError):
    """Raised with every problem found in a calculation input."""

    def __init__(self, items: Sequence[InputErrorItem]) -> None:
        self.items = list(items)
        super().__init__("\n".join(str(i) for i in self.items))


def _raw_id(raw: object, index: int) -> str | None:
    if isinstance(raw, Mapping):
        acts = raw.get("activities")
        if isinstance(acts, Sequence) and not isinstance(acts, str) and index < len(acts):
            item = acts[index]
            if isinstance(item, Mapping) and item.get("id") is not None:
                return str(item["id"])
    return None


def from_validation_error(exc: ValidationError, raw: object) -> list[InputErrorItem]:
    """Map pydantic locations like ``('activities', 3, 'flaring', 'ch4_m3')`` to id, index and field."""
    items: list[InputErrorItem] = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "union_tag_invalid":
            ctx = err.get("ctx", {})
            msg = f"unknown activity type {ctx.get('tag')!r}; known: {ctx.get('expected_tags')}"
            loc.append("type")
        elif err["type"] == "union_tag_not_found":
            msg = "missing activity type"
            loc.append("type")
        if len(loc) >= 2 and loc[0] == "activities" and isinstance(loc[1], int):
            index = loc[1]
            rest = loc[2:]
            # Drop the discriminator tag pydantic inserts after the index.
            if rest and isinstance(rest[0], str) and rest[0] == _raw_type(raw, index) and len(rest) >= 1:
                rest = rest[1:]
            field = ".".join(str(p) for p in rest)
            items.append(InputErrorItem(msg, field, _raw_id(raw, index), index))
        else:
            items.append(InputErrorItem(msg, ".".join(str(p) for p in loc)))
    return items


def _raw_type(raw: object, index: int) -> str | None:
    if isinstance(raw, Mapping):
        acts = raw.get("activities")
        if isinstance(acts, Sequence) and index < len(acts) and isinstance(acts[index], Mapping):
            t = acts[index].get("type")
            return t if isinstance(t, str) else None
    return None
