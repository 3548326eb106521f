"""Numbers a chapter records for its text, its intro-page row and its tests (through myst_nb.glue)."""

from myst_nb import glue


def record(name: str, value):
    """Glue `value` under `name` as a plain Python number, so `{glue:text}` can format it
    (numpy and torch scalars would be glued as their repr, which does not format)."""
    value = value.item() if hasattr(value, "item") else value
    glue(name, value, display=False)
    return value
