"""The Qt side of the app: PySide6 plugins segstudio relies on.

The toolbar and window icons are SVG files, drawn by the ``iconengines/qsvgicon``
and ``imageformats/qsvg`` plugins, which need the QtSvg library; segstudio never
imports ``PySide6.QtSvg`` itself, so nothing would pull it in.  Importing it here
makes PyInstaller's Qt hooks collect the library and its plugins.  The platform
plugins (xcb, wayland, offscreen) come with QtGui's hook.
"""

hiddenimports = ["PySide6.QtSvg"]
