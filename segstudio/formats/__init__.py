"""Everything that reads or writes files: images, label PNGs, the project store."""
