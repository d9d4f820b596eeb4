"""Round-trip frozen config dataclasses through JSON with strict checking.

An unknown key or a value of the wrong type raises ConfigError naming the key, so a typo in
a config file is an error, never a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, TypeVar

from vaekit.errors import ConfigError

T = TypeVar("T")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain JSON-ready dict of a config dataclass (tuples become lists)."""
    return {
        field.name: _to_plain(getattr(config, field.name)) for field in dataclasses.fields(config)
    }


def config_from_dict(cls: type[T], payload: Any) -> T:
    """Build `cls` from a dict, rejecting unknown keys and wrongly typed values."""
    if not isinstance(payload, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(payload).__name__}")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(payload) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} key {unknown[0]!r} (known: {', '.join(fields)})")
    hints = typing.get_type_hints(cls)
    values = {
        name: _coerce(name, value, hints[name], cls.__name__) for name, value in payload.items()
    }
    try:
        return cls(**values)
    except TypeError as err:
        raise ConfigError(f"{cls.__name__}: {err}") from None


def _to_plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_to_plain(item) for item in value]
    return value


def _coerce(name: str, value: Any, hint: Any, owner: str) -> Any:
    """Check `value` against the type hint, turning JSON lists into tuples."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _coerce(name, value, option, owner)
            except ConfigError:
                continue
        raise ConfigError(f"{owner}.{name} has the wrong type: {value!r}")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{owner}.{name} must be null, got {value!r}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{owner}.{name} must be a list, got {value!r}")
        item_hint = args[0] if args else Any
        return tuple(_coerce(name, item, item_hint, owner) for item in value)
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"{owner}.{name} must be one of {list(args)}, got {value!r}")
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            raise ConfigError(f"{owner}.{name} is too large: {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{owner}.{name} must be finite, got {value!r}")
        return number
    if hint is Any or (isinstance(hint, type) and _is_instance(value, hint)):
        return value
    raise ConfigError(f"{owner}.{name} must be {getattr(hint, '__name__', hint)}, got {value!r}")


def _is_instance(value: Any, hint: type) -> bool:
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)
