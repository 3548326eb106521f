"""Numbers a chapter records for its text, its intro-page row and its tests (through myst_nb.glue)."""

from IPython.display import Markdown
from myst_nb import glue


def record(name: str, value):
    """Glue `value` under `name`: a number as a plain Python number, so `{glue:text}` can format
    it (numpy and torch scalars would be glued as their repr), a string as Markdown for `{glue:md}`."""
    value = value.item() if hasattr(value, "item") else value
    glue(name, Markdown(value) if isinstance(value, str) else value, display=False)
    return value


def record_all(values: dict) -> None:
    """record() each of `values`, name by name: one call per result."""
    for name, value in values.items():
        record(name, value)
