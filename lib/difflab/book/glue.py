"""Numbers a chapter records for its text, its intro-page row and its tests (glue, as myst_nb.glue)."""

from difflab.core import intervals

# myst_nb.glue's record: a glued output's MIME types carry this prefix when it is not displayed
# (myst-nb reads it off when the book is rendered; tests/book.py's glued_in reads it as a suffix).
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, variable, display: bool = True) -> None:
    """Glue `variable` under `name` for the book's {glue} roles and directives, as myst_nb.glue
    (myst-nb 1.x) does, output for output: the object's display formats (IPython's), under
    GLUE_PREFIX unless `display`, with the metadata {"scrapbook": {"name", "mime_prefix"}}. Written
    here so that a chapter needs only IPython (its kernel's), not myst-nb and the book's build
    stack: a reader's install (Colab) and a GPU machine lack them. tests/test_lock.py compares the
    outputs with myst_nb.glue's, where myst-nb is installed."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    mimebundle, metadata = format_display_data(variable)
    mime_prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=mime_prefix)
    ipy_display({mime_prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)


class Text(str):
    """A string glued both ways: as Markdown for `{glue:md}` on its own page, and as its repr for
    `{glue:text}` (the role that can paste from another page, such as the intro)."""

    def _repr_markdown_(self) -> str:
        return str(self)


_recorded: dict = {}


def record(name: str, value):
    """Glue `value` under `name`: a number as a plain Python number, so `{glue:text}` can format
    it (numpy and torch scalars would be glued as their repr), a string as Text."""
    value = value.item() if hasattr(value, "item") else value
    glue(name, Text(value) if isinstance(value, str) else value, display=False)
    _recorded[name] = value
    return value


def recorded_value(name: str):
    """A value this notebook recorded earlier, for a summary table that repeats it."""
    if name not in _recorded:
        raise KeyError(
            f"name={name!r} was not recorded in this notebook; recorded: {', '.join(_recorded) or 'none'}"
        )
    return _recorded[name]


def with_interval(name: str, interval) -> dict:
    """An Interval (difflab.core.intervals) as the three numbers a text quotes: `name` (the
    estimate), `name_low` and `name_high` (its 95% interval), for record_all."""
    return {name: interval.estimate, f"{name}_low": interval.low, f"{name}_high": interval.high}


def with_rates(values: dict, n: int, names) -> dict:
    """`values` with each of `names`, a share counted on `n` units (noises), beside its Wilson
    interval (NAME_low, NAME_high): for a chapter's worst-seed rates."""
    rated = dict(values)
    for name in names:
        rated |= with_interval(name, intervals.proportion_of(values[name], n))
    return rated


def record_all(values: dict) -> None:
    """record() each of `values`, name by name: one call per result."""
    for name, value in values.items():
        record(name, value)


def span(low: float, high: float, spec: str) -> str:
    """A range as a reader reads it: both ends in the format `spec`, or one number where they
    print alike ("639", never "639-639")."""
    ends = format(low, spec), format(high, spec)
    return ends[0] if ends[0] == ends[1] else "-".join(ends)


def record_span(name: str, spec: str, ends: tuple[str, str] = ("min", "max")) -> str:
    """record() NAME_span: the span of the NAME_min and NAME_max this notebook recorded (or of
    other `ends`, such as an interval's low and high), for the text's {glue:md}."""
    low, high = (recorded_value(f"{name}_{end}") for end in ends)
    return record(f"{name}_span", span(low, high, spec))
