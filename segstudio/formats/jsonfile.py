"""Reading JSON files that come from elsewhere (datasets, project files).

``parse_json`` turns every way a JSON text can be bad - malformed, nested
deeper than the parser's recursion limit, too large for memory - into a
``FormatError`` naming the file.  Values are checked where they are used
(``json_int``): JSON read by Python may hold NaN, Infinity
and numbers such as 1e400 that become ``inf``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from segstudio.errors import FormatError, SegStudioError
from segstudio.formats.labelfile import read_text


def parse_json(text: str | bytes, source: str, error: type[SegStudioError] = FormatError) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        raise error(f"{source}: the JSON is nested too deeply to be read (thousands of levels); "
                    "it is not a file segstudio writes or reads - check what produced it") from None
    except MemoryError:
        raise error(f"{source}: the JSON is too large to read into memory") from None
    except ValueError as e:  # includes UnicodeDecodeError of bytes input
        raise error(f"{source}: malformed JSON ({e}); fix the file or re-export it") from None


def read_json(path: str | os.PathLike, what: str = "JSON file",
              error: type[SegStudioError] = FormatError) -> object:
    path = Path(path)
    return parse_json(read_text(path, what, error), str(path), error)


def json_int(value: object, what: str, source: str, minimum: int | None = None) -> int:
    """An integer from JSON (an int or a float with an integer value), else FormatError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
        raise FormatError(f"{source}: {what} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise FormatError(f"{source}: {what} must be at least {minimum}, got {value}")
    return value
