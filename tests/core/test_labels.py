import numpy as np
import pytest

from segstudio.core.labels import (COCO_THING_NAMES, VOC_CLASS_NAMES, VOID_COLOR, LabelSet, format_color,
                                   parse_color, voc_palette)
from segstudio.errors import LabelError


def test_voc_palette_matches_the_published_colours():
    pal = voc_palette()
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    # colours from the Pascal VOC devkit (VOClabelcolormap.m)
    assert tuple(pal[0]) == (0, 0, 0)
    assert tuple(pal[1]) == (128, 0, 0)  # aeroplane
    assert tuple(pal[2]) == (0, 128, 0)
    assert tuple(pal[15]) == (192, 128, 128)  # person
    assert tuple(pal[20]) == (0, 64, 128)  # tvmonitor
    assert tuple(pal[255]) == VOID_COLOR == (224, 224, 192)


def test_builtin_sets():
    voc = LabelSet.voc()
    assert len(voc) == 21 and voc.names == list(VOC_CLASS_NAMES)
    assert voc.id_of("Person") == 15 and voc.name_of(255) == "void"
    coco = LabelSet.coco_things()
    assert len(coco) == 81 and coco.names[1:] == list(COCO_THING_NAMES) and coco.name_of(0) == "background"
    assert len(set(COCO_THING_NAMES)) == 80
    # stable colours: the same set twice gives the same palette
    assert np.array_equal(LabelSet.coco_things().palette(), coco.palette())


def test_label_file_text_round_trip():
    text = "\ufeffbackground #000000\nroad #804080\ntraffic light\n\n"
    ls = LabelSet.from_text(text, "labels.txt")
    assert ls.names == ["background", "road", "traffic light"]
    assert ls[1].color == (0x80, 0x40, 0x80)
    assert ls[2].color == tuple(voc_palette()[2])  # default colour by id
    again = LabelSet.from_text(ls.to_text())
    assert again == ls
    assert LabelSet.from_json(ls.to_json()) == ls


@pytest.mark.parametrize("text, fragment", [
    ("a\n\nb\n", "line 2: empty line"),
    ("a\nA\n", "used twice"),
    ("a #12345\n", "#rrggbb"),
    ("", "at least one class"),
    ("\n".join(f"c{i}" for i in range(256)), "at most 255"),
])
def test_bad_label_files_name_the_line(text, fragment):
    with pytest.raises(LabelError, match=fragment):
        LabelSet.from_text(text, "my.txt")


def test_colour_helpers_and_lookup_errors():
    assert parse_color("#FF8000") == (255, 128, 0)
    assert format_color((255, 128, 0)) == "#ff8000"
    with pytest.raises(LabelError, match="no class named"):
        LabelSet.voc().id_of("unicorn")
    with pytest.raises(LabelError, match="not in label set"):
        LabelSet.voc()[21]
    assert LabelSet.voc().is_valid(255) and not LabelSet.voc().is_valid(21)
