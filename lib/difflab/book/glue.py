"""Numbers a chapter records for its text, its intro-page row and its tests (through myst_nb.glue)."""

from myst_nb import glue

from difflab.core import intervals


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


def recorded(name: str):
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
