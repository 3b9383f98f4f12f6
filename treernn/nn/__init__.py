"""Cells: the maths of one step (chain cells) or one tree level (tree cells)."""
