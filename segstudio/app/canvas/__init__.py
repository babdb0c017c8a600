"""The canvas: image + colourised overlay, zoom/pan, pointer events to tools."""
