"""Class names map between vocabularies (VOC <-> COCO spellings) without class lists."""

from segstudio.core.labels import LabelSet
from segstudio.ml.classmap import class_lut, unmapped


def test_every_voc_class_has_a_coco_counterpart():
    voc, coco = LabelSet.voc(), LabelSet.coco_things()
    lut = class_lut(voc, coco)
    assert unmapped(voc, coco) == []
    for i, name in enumerate(voc.names):
        assert lut[i] != 255, name
    assert coco.name_of(lut[voc.id_of("aeroplane")]) == "airplane"
    assert coco.name_of(lut[voc.id_of("diningtable")]) == "dining table"
    assert coco.name_of(lut[voc.id_of("tvmonitor")]) == "tv"
    back = class_lut(coco, voc)
    assert back[coco.id_of("giraffe")] == 255 and back[255] == 255
    assert voc.name_of(back[coco.id_of("potted plant")]) == "pottedplant"
    assert len(unmapped(coco, voc)) == 81 - 21
