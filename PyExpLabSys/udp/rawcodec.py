"""The hand-made ``raw`` encoding of push sockets, both ways.

In: ``codename:type:data;codename:type:data`` with ``type`` one of ``int``, ``float``,
``str``, ``bool`` and ``data`` one value or several separated by ``,`` (then a list).
Out (a callback's return value with ``return_format='raw'``): a dict becomes
``name:type:v1,v2;name:type:v`` and a list of lists ``type:x1,y1&x2,y2``.

Parse errors are ValueErrors whose text is the reply after ``ERROR#``, worded as
upstream words them (clients show or compare them).
"""

from __future__ import annotations

from typing import Any

from .wire import has_bad_char

__all__ = ["TYPE_FROM_STRING", "bool_translate", "format_raw", "parse_raw_with_names"]


def bool_translate(string: str) -> bool:
    """``'True'`` → True, ``'False'`` → False, anything else a ValueError."""
    if str(string) not in ("True", "False"):
        raise ValueError(
            f"Cannot translate the string '{string}' to a boolean. Only the strings 'True' or "
            "'False' are allowed"
        )
    return str(string) == "True"


#: The raw encoding's type names and how each converts its text.
TYPE_FROM_STRING: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool_translate}
_RAW_TYPES = (int, float, bool, str)


def parse_raw_with_names(data: str) -> dict[str, Any]:
    """The dict a ``raw_wn#`` command carries; ValueError with the reply's text."""
    out: dict[str, Any] = {}
    for part in data.split(";"):
        pieces = part.split(":")
        if len(pieces) != 3:
            raise ValueError(
                f"The data part '{part}' did not match the expected format of 3 parts divided by ':'"
            )
        codename, data_type, data_string = pieces
        if has_bad_char(codename):
            raise ValueError(f"The codename '{codename}' holds a character that is not allowed in codenames")
        convert = TYPE_FROM_STRING.get(data_type)
        if convert is None:
            raise ValueError(
                f"The data type '{data_type}' is unknown. Only {TYPE_FROM_STRING.keys()} are allowed"
            )
        try:
            values = [convert(item) for item in data_string.split(",")]
        except ValueError as error:
            raise ValueError(f"Unable to convert values to '{data_type}'. Error is: {error}") from None
        out[codename] = values[0] if len(values) == 1 else values
    return out


def format_raw(value: Any) -> str:
    """A callback's return value in the raw encoding (without the ``RET#`` prefix):
    None → ``None``; a dict or a list of lists as described above. ValueError or
    TypeError when the value has no raw form."""
    if value is None:
        return "None"
    if isinstance(value, dict):
        return _format_dict(value)
    if isinstance(value, list):
        return _format_list(value)
    raise ValueError("Return value must be a dict or list with return format 'raw'")


def _type_name(value: Any) -> str:
    name = type(value).__name__
    if not isinstance(value, _RAW_TYPES) or name not in TYPE_FROM_STRING:
        raise TypeError(
            "With return format raw, the item type can only be one of 'int', 'float', 'bool' and "
            f"'str'. Object: '{value}' is of type: {name}"
        )
    return name


def _format_dict(value: dict[Any, Any]) -> str:
    items = []
    for key, item in value.items():
        if isinstance(item, list):
            if item and any(type(element) is not type(item[0]) for element in item):
                raise ValueError("With return format raw, value in list must have same type")
            type_name = _type_name(item[0]) if item else ""
            text = ",".join(str(element) for element in item)
        else:
            type_name, text = _type_name(item), str(item)
        items.append(f"{key}:{type_name}:{text}")
    return ";".join(items)


def _format_list(value: list[Any]) -> str:
    rows: list[str] = []
    types: set[type] = set()
    for row in value:
        if not isinstance(row, list):
            raise ValueError("With return format raw on a list, the elements themselves be lists")
        types.update(type(element) for element in row)
        rows.append(",".join(str(element) for element in row))
    if len(types) != 1:
        raise ValueError("With return format raw on a list of lists, all values in list must have same type")
    (element_type,) = types
    if element_type not in _RAW_TYPES:
        raise TypeError(
            "With return format raw, the item type can only be one of 'int', 'float', 'bool' and 'str'"
        )
    return f"{element_type.__name__}:{'&'.join(rows)}"
