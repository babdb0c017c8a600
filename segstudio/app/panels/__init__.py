"""Dock panels. Each talks to the window through signals and small methods only."""
