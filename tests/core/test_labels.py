import numpy as np
import pytest

from segstudio.core.labels import (COCO_THING_NAMES, VOC_CLASS_NAMES, VOID_COLOR, VOID_ID, LabelSet,
                                   distinct_color, format_color, parse_color, voc_palette)
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
    assert ls[2].color == distinct_color(2)  # a custom set: generated colour by id
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


CAMVID = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
          "Bicyclist"]


def _min_delta_e(colors) -> float:
    """The smallest CIE76 colour difference between two of ``colors`` (sRGB triples)."""
    import cv2
    lab = cv2.cvtColor(np.array(colors, np.uint8)[None], cv2.COLOR_RGB2LAB)[0].astype(float)
    lab[:, 0] *= 100 / 255
    lab[:, 1:] -= 128
    d = np.linalg.norm(lab[:, None] - lab[None], axis=2)
    d[np.eye(len(colors), dtype=bool)] = np.inf
    return float(d.min())


def test_custom_sets_get_distinct_colours_and_standard_sets_keep_voc_colours():
    camvid = LabelSet(CAMVID)
    colors = [c.color for c in camvid]
    # VOC colours by id make Car (#400000) and Building (#800000) near twins; generated ones do not
    assert _min_delta_e([tuple(voc_palette()[i]) for i in range(len(CAMVID))]) < 15
    assert _min_delta_e(colors + [VOID_COLOR]) > 25
    assert _min_delta_e([distinct_color(i) for i in range(24)]) > 12  # still apart with many classes
    # stable per id: adding classes never changes the earlier ones
    assert [c.color for c in LabelSet(CAMVID + ["Extra"])][:len(CAMVID)] == colors
    # Pascal VOC and COCO keep their standard colours, also when read from a plain label file
    assert [c.color for c in LabelSet.voc()] == [tuple(int(v) for v in voc_palette()[i]) for i in range(21)]
    from_file = LabelSet.from_text("\n".join(VOC_CLASS_NAMES))
    assert [c.color for c in from_file] == [c.color for c in LabelSet.voc()]
    assert LabelSet.coco_things()[5].color == tuple(int(v) for v in voc_palette()[5])
    # colours given in the file win
    assert LabelSet.from_text("Sky #123456\nRoad")[0].color == (0x12, 0x34, 0x56)


@pytest.mark.parametrize("first, has", [("background", True), ("_background_", True), ("__background__", True),
                                        ("BG", True), ("Background", True), ("Sky", False), ("void", False),
                                        ("backgrounds2", False)])
def test_a_label_set_says_whether_class_0_is_background(first, has):
    labels = LabelSet([first, "thing"])
    assert labels.has_background is has
    assert labels.empty_id == (0 if has else VOID_ID)


def test_background_flag_of_builtin_sets_and_overrides():
    assert LabelSet.voc().has_background and LabelSet.coco_things().has_background
    camvid = LabelSet(CAMVID)
    assert not camvid.has_background and camvid.empty_id == VOID_ID
    forced = camvid.with_background(True)
    assert forced.has_background and forced.names == camvid.names and forced != camvid
    assert LabelSet.from_json(forced.to_json(), background=True) == forced
