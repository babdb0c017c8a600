"""Label sets: the ordered classes of a project (id, name, colour).

Id 255 is *void*: "don't know / don't train on this".  A label set holds at
most 255 classes (ids 0..254).

Background: a label set says whether class 0 is a background class
(``has_background``).  Pascal VOC and COCO have one; a custom set has one when
its first class is named like one (``background``, ``bg``, ``_background_``,
``__background__``, any case), unless the caller says otherwise.  Where 0 is a
real class (CamVid: Sky) "nothing here" is void, so the eraser erases to void
and a new annotation starts all void (``empty_id``).  A project keeps the flag
in its project file.

Colours: Pascal VOC and COCO (a set whose names are exactly theirs) use the VOC
palette by id; a custom set's classes without a colour get a generated colour
with well-separated hues, stable per id (``distinct_color``), so neighbouring
ids never look alike (VOC's #400000 and #800000 do).

The class lists of the built-in sets (Pascal VOC, COCO things) live here and
nowhere else; other code asks a ``LabelSet`` for names and colours.

The label-file text format (``--labels FILE`` and exported label maps) is
UTF-8, one class per line in id order (line 1 is id 0): the name, optionally
followed by a colour ``#rrggbb``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np

from segstudio.errors import LabelError

VOID_ID = 255
BACKGROUND_ID = 0
MAX_CLASSES = 255  # ids 0..254; 255 is reserved for void
VOID_COLOR = (224, 224, 192)  # the colour Pascal VOC gives the void label

VOC_CLASS_NAMES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
    "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
    "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)

COCO_THING_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck",
    "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup",
    "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)

_COLOR_RE = re.compile(r"^#([0-9a-fA-F]{6})$")
_BACKGROUND_NAMES = {"background", "bg"}  # compared with letters only, lower case: "_Background_" counts

Color = tuple[int, int, int]


def voc_palette() -> np.ndarray:
    """The Pascal VOC colour map: a (256, 3) uint8 array indexed by class id.

    Entry ``i`` interleaves the bits of ``i`` into R, G and B from the most
    significant bit down; entry 255 is the void colour.
    """
    ids = np.arange(256)
    palette = np.zeros((256, 3), dtype=np.int64)
    c = ids.copy()
    for shift in range(7, -1, -1):
        for channel in range(3):
            palette[:, channel] |= ((c >> channel) & 1) << shift
        c >>= 3
    palette[VOID_ID] = VOID_COLOR
    return palette.astype(np.uint8)


_VOC_PALETTE = voc_palette()
_STANDARD_NAMES = ([n.lower() for n in VOC_CLASS_NAMES], ["background"] + [n.lower() for n in COCO_THING_NAMES])
_GOLDEN = 0.3819660112501051  # 1 - 1/phi: successive hues as far apart as possible
# (saturation, value), changing every second id, so ids whose hues end up close differ in lightness
_SV_STEPS = ((0.9, 0.9), (0.6, 1.0), (1.0, 0.6))


def distinct_color(class_id: int) -> tuple[int, int, int]:
    """A generated colour for a custom class: depends only on the id (stable when classes are added).

    Hues advance by the golden angle, so any few consecutive ids are far apart on
    the colour wheel; saturation and brightness cycle too, so the rare ids whose
    hues come close still differ in lightness.
    """
    import colorsys

    i = int(class_id)
    hue = (0.12 + i * _GOLDEN) % 1.0
    s, v = _SV_STEPS[(i // 2) % len(_SV_STEPS)]
    r, g, b = colorsys.hsv_to_rgb(hue, s, v)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def is_background_name(name: str) -> bool:
    """True for names that mean background: background, bg, _background_, __background__, ..."""
    return re.sub(r"[^a-z]", "", str(name).lower()) in _BACKGROUND_NAMES


def parse_color(text: str) -> Color:
    m = _COLOR_RE.match(text.strip())
    if not m:
        raise LabelError(f"'{text}' is not a colour; write it as #rrggbb, e.g. #ff8000")
    v = int(m.group(1), 16)
    return (v >> 16) & 255, (v >> 8) & 255, v & 255


def format_color(color: Color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


@dataclass(frozen=True)
class LabelClass:
    id: int
    name: str
    color: Color


class LabelSet:
    """An ordered, immutable list of classes with ids 0..n-1."""

    def __init__(self, names: Sequence[str], colors: Sequence[Color | None] | None = None,
                 name: str = "custom", background: bool | None = None):
        """``background``: whether class 0 is a background class; None decides by its name."""
        names = [str(n).strip() for n in names]
        if not names:
            raise LabelError("a label set needs at least one class (id 0, usually 'background')")
        if len(names) > MAX_CLASSES:
            raise LabelError(
                f"a label set holds at most {MAX_CLASSES} classes (ids 0..254, 255 is void); "
                f"got {len(names)}")
        seen: dict[str, int] = {}
        for i, n in enumerate(names):
            if not n:
                raise LabelError(f"class {i} has an empty name")
            if n.lower() in seen:
                raise LabelError(f"class name '{n}' is used twice (ids {seen[n.lower()]} and {i})")
            seen[n.lower()] = i
        if colors is None:
            colors = [None] * len(names)
        if len(colors) != len(names):
            raise LabelError(f"{len(names)} class names but {len(colors)} colours")
        self.name = name
        standard = [n.lower() for n in names] in _STANDARD_NAMES  # VOC or COCO: their colours

        def default_color(i: int) -> Color:
            return tuple(int(v) for v in _VOC_PALETTE[i]) if standard else distinct_color(i)
        self._classes = tuple(
            LabelClass(i, n, tuple(int(v) for v in c) if c is not None else default_color(i))
            for i, (n, c) in enumerate(zip(names, colors)))
        self._by_name = {c.name.lower(): c.id for c in self._classes}
        self.has_background = is_background_name(names[0]) if background is None else bool(background)

    # -- built-in sets -------------------------------------------------
    @classmethod
    def voc(cls) -> "LabelSet":
        """Pascal VOC: background + 20 classes, VOC palette."""
        return cls(VOC_CLASS_NAMES, name="voc")

    @classmethod
    def coco_things(cls) -> "LabelSet":
        """COCO's 80 thing classes after background (ids 1..80, contiguous)."""
        return cls(("background",) + COCO_THING_NAMES, name="coco")

    # -- text format ---------------------------------------------------
    @classmethod
    def from_text(cls, text: str, source: str = "<labels>") -> "LabelSet":
        lines = text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        names: list[str] = []
        colors: list[Color | None] = []
        for lineno, raw in enumerate(lines, start=1):
            line = raw.strip()
            if lineno == 1:
                line = line.lstrip("\ufeff")
            if not line:
                raise LabelError(
                    f"{source}, line {lineno}: empty line; every line up to the last is a class "
                    f"(line 1 is id 0), so remove it or name the class")
            color = None
            parts = line.rsplit(None, 1)
            if len(parts) == 2 and parts[1].startswith("#"):
                try:
                    color = parse_color(parts[1])
                except LabelError as e:
                    raise LabelError(f"{source}, line {lineno}: {e}") from None
                line = parts[0].strip()
            names.append(line)
            colors.append(color)
        try:
            return cls(names, colors, name=source)
        except LabelError as e:
            raise LabelError(f"{source}: {e}") from None

    def with_background(self, background: bool) -> "LabelSet":
        """The same classes and colours with ``has_background`` set as given."""
        return LabelSet(self.names, [c.color for c in self._classes], self.name, background)

    def to_text(self) -> str:
        return "".join(f"{c.name} {format_color(c.color)}\n" for c in self._classes)

    # -- JSON (project files, model cards) -----------------------------
    def to_json(self) -> list[dict]:
        return [{"id": c.id, "name": c.name, "color": format_color(c.color)} for c in self._classes]

    @classmethod
    def from_json(cls, items: Iterable[dict], name: str = "custom", background: bool | None = None) -> "LabelSet":
        try:
            items = sorted(items, key=lambda d: int(d["id"]))
            ids = [int(d["id"]) for d in items]
            if ids != list(range(len(ids))):
                raise LabelError(f"class ids must be 0..{len(ids) - 1} without gaps, got {ids}")
            colors = [parse_color(d["color"]) if d.get("color") else None for d in items]
            return cls([d["name"] for d in items], colors, name=name, background=background)
        except (KeyError, TypeError, ValueError) as e:
            raise LabelError(f"label set {name}: each class needs an integer 'id' and a 'name' ({e})") from None

    # -- queries ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self._classes)

    def __iter__(self) -> Iterator[LabelClass]:
        return iter(self._classes)

    def __getitem__(self, class_id: int) -> LabelClass:
        if not 0 <= class_id < len(self._classes):
            raise LabelError(f"class id {class_id} is not in label set '{self.name}' (ids 0..{len(self) - 1})")
        return self._classes[class_id]

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LabelSet) and self._classes == other._classes
                and self.has_background == other.has_background)

    def __hash__(self) -> int:
        return hash((self._classes, self.has_background))

    def __repr__(self) -> str:
        return f"LabelSet({self.name!r}, {len(self)} classes)"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self._classes]

    def id_of(self, name: str) -> int:
        try:
            return self._by_name[name.strip().lower()]
        except KeyError:
            raise LabelError(f"no class named '{name}' in label set '{self.name}'") from None

    def get_id(self, name: str) -> int | None:
        return self._by_name.get(name.strip().lower())

    def name_of(self, class_id: int) -> str:
        if class_id == VOID_ID:
            return "void"
        if 0 <= class_id < len(self._classes):
            return self._classes[class_id].name
        return f"class {class_id}"

    @property
    def empty_id(self) -> int:
        """What "nothing here" is: background (0) when the set has one, else void (255).

        The eraser erases to it and a new annotation starts filled with it."""
        return BACKGROUND_ID if self.has_background else VOID_ID

    def is_valid(self, class_id: int) -> bool:
        """True for a class of this set or void."""
        return class_id == VOID_ID or 0 <= class_id < len(self._classes)

    def palette(self) -> np.ndarray:
        """(256, 3) uint8 colours by id: the set's colours, VOC colours for unused ids, void at 255."""
        pal = _VOC_PALETTE.copy()
        for c in self._classes:
            pal[c.id] = c.color
        return pal
