"""Every menu command and shortcut, declared as data.

The window builds its menus, toolbar and shortcuts from ``ACTIONS``; the help
dialog lists them from the same table, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    menu: str
    slot: str                        # method of the main window, or of one of its parts ("canvas.fit")
    shortcuts: tuple[str, ...] = ()
    arg: object = None               # passed to the slot when set
    tip: str = ""
    checkable: bool = False
    group: str | None = None         # exclusive group (tools)
    toolbar: bool = False
    icon: str | None = None          # resources/icons/<icon>.svg


A = ActionSpec

TOOLS = [  # name, text, key, tip
    ("brush", "&Brush", "B", "Paint the current class; [ and ] change the size"),
    ("eraser", "&Eraser", "E", "Erase to background, or to void when the labels have no background class"),
    ("void", "Paint/erase to &void", "V", "Mark pixels void (255): don't know / don't train on this"),
    ("fill", "&Fill", "G", "Fill the region of one class under the click"),
    ("polygon", "&Polygon", "P", "Click vertices; Enter or double-click fills, Esc cancels"),
    ("new_instance", "&New instance", "N", "Drag to paint a new instance of the current class"),
    ("add_instance", "&Add to instance", "A", "Drag to add pixels to the selected instance"),
    ("pick_instance", "P&ick instance", "I", "Click an instance to select it"),
    ("eyedropper", "Eye&dropper", "K", "Click to take the class under the pointer"),
    ("sam", "&Segment Anything", "S", "Click the object, right-click background, drag a box; Enter accepts, "
     "Esc drops (needs segstudio[sam])"),
    ("correct", "&Click to correct", "C",
     "Click a wrong area: it takes the current class as far as the model agrees (tolerance: , and .)"),
    ("superpixel", "Superpi&xel brush", "X", "Click or drag to paint whole superpixels; their size follows the zoom"),
    ("scribble", "Sc&ribble", "R", "Draw strokes of one or more classes; a dense CRF spreads them: "
     "Enter accepts, Esc drops"),
]
SAM_VARIANTS = [("vit_b", "ViT-B: fastest"), ("vit_l", "ViT-L"), ("vit_h", "ViT-H: best, slowest")]

ACTIONS: list[ActionSpec] = [
    A("open", "&Open image or project…", "&File", "open_dialog", ("Ctrl+O",), toolbar=True, icon="open",
      tip="Open an image, a folder's segstudio.json, or a project"),
    A("open_folder", "Open &folder…", "&File", "open_folder_dialog", ("Ctrl+Shift+O",),
      tip="Open a folder of images as a project"),
    A("save", "&Save", "&File", "save", ("Ctrl+S",), toolbar=True, icon="save",
      tip="Save now (segstudio also saves on image switch, on exit and every few seconds)"),
    A("import", "&Import dataset…", "&File", "io.import_dialog", ("Ctrl+Shift+I",),
      tip="Make a project from a Pascal VOC, COCO, masks or labelme dataset"),
    A("export", "&Export dataset…", "&File", "io.export_dialog", ("Ctrl+E",),
      tip="Write the labelled images as Pascal VOC, COCO instances or COCO panoptic"),
    A("prev_image", "&Previous image", "&File", "step_image", ("PgUp", "Ctrl+Left"), arg=-1, toolbar=True,
      icon="prev"),
    A("next_image", "&Next image", "&File", "step_image", ("PgDown", "Ctrl+Right"), arg=1, toolbar=True,
      icon="next"),
    A("mark_reviewed", "Mark &reviewed", "&File", "mark_reviewed", ("Ctrl+R",),
      tip="Mark this image's annotation as checked by a person"),
    A("quit", "&Quit", "&File", "close", ("Ctrl+Q",)),
    A("undo", "&Undo", "&Edit", "undo", ("Ctrl+Z",), toolbar=True, icon="undo"),
    A("redo", "&Redo", "&Edit", "redo", ("Ctrl+Shift+Z", "Ctrl+Y"), toolbar=True, icon="redo"),
    A("brush_smaller", "Brush s&maller", "&Edit", "resize_brush", ("[",), arg=1 / 1.25),
    A("brush_bigger", "Brush &bigger", "&Edit", "resize_brush", ("]",), arg=1.25),
    *[A(f"tool_{n}", t, "&Tools", "set_tool", (k,), arg=n, tip=tip, checkable=True, group="tools",
        toolbar=True, icon=n) for n, t, k, tip in TOOLS],
    A("sam_instance", "Segment Anything makes a new instance", "&Tools", "sam.set_instance_mode", ("Shift+S",),
      checkable=True, tip="Enter accepts the mask as a new instance of the current class"),
    A("sam_replace_user", "Segment Anything replaces pixels painted by hand", "&Tools", "sam.set_replace_user",
      checkable=True, tip="Off: pixels painted by hand keep their labels, as when a prediction is accepted"),
    *[A(f"sam_{v}", f"Segment Anything model: {t}", "&Tools", "sam.set_variant", arg=v, checkable=True,
        group="sam_variant") for v, t in SAM_VARIANTS],
    A("tolerance_down", "Narrower smart corrections", "&Tools", "smart.change_tolerance", (",",), arg=-0.1,
      tip="Click to correct and scribbles take in fewer pixels"),
    A("tolerance_up", "Wider smart corrections", "&Tools", "smart.change_tolerance", (".",), arg=0.1,
      tip="Click to correct and scribbles take in more pixels"),
    *[A(f"class_{i}", f"Class {i}" if i else "Background", "&Labels", "select_class", (str(i),), arg=i)
      for i in range(10)],
    A("fit", "&Fit to window", "&View", "canvas.fit", ("Ctrl+0", "F"), toolbar=True, icon="fit"),
    A("actual_size", "&Actual size (1:1)", "&View", "canvas.actual_size", ("Ctrl+1",)),
    A("zoom_in", "Zoom &in", "&View", "canvas.zoom_by", ("Ctrl++", "Ctrl+="), arg=1.25),
    A("zoom_out", "Zoom &out", "&View", "canvas.zoom_by", ("Ctrl+-",), arg=1 / 1.25),
    A("show_classes", "Show &class overlay", "&View", "toggle_classes", ("Shift+C",), checkable=True),
    A("show_outlines", "Show instance &outlines", "&View", "toggle_outlines", ("Shift+L",), checkable=True),
    A("show_uncertainty", "Show &uncertainty heat map", "&View", "toggle_uncertainty", ("Shift+U",),
      checkable=True, tip="Colour where the last prediction was unsure (entropy): yellow to red"),
    A("next_uncertain", "Next most &uncertain image", "&View", "next_uncertain", ("U",),
      tip="Open the predicted image the model was least sure of (Predict all ranks every image); in the "
          "'next to label' order, the next image of that plan"),
    A("opacity_up", "Overlay more opaque", "&View", "change_opacity", ("Ctrl+]",), arg=0.1),
    A("opacity_down", "Overlay more transparent", "&View", "change_opacity", ("Ctrl+[",), arg=-0.1),
    A("predict", "&Predict this image", "&Model", "predictor.predict_this", ("Ctrl+P",), toolbar=True, icon="predict"),
    A("predict_all", "Predict &all images", "&Model", "predictor.predict_all", ("Ctrl+Shift+P",)),
    A("cancel_predict", "&Cancel prediction", "&Model", "predictor.cancel", ("Ctrl+.",)),
    A("shortcuts", "&Keyboard shortcuts", "&Help", "show_help", ("F1",)),
    A("about", "&About segstudio", "&Help", "show_about"),
]

# Keys handled by the canvas itself (not QActions), listed in the help dialog.
CANVAS_KEYS = [
    ("Wheel", "Zoom around the pointer"),
    ("Space + drag / middle button drag", "Pan"),
    ("Enter / double-click", "Close the polygon"),
    ("Esc", "Cancel the polygon"),
    ("Click / right-click / drag", "Segment Anything: object point / background point / box"),
    ("Enter / Esc", "Segment Anything: accept the mask (one undo step) / drop it"),
    ("Enter", "Accept the scribble's preview"),
    ("Esc", "Drop the scribble"),
]
