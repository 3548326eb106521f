"""What every chapter's first cell does before it computes anything."""

from difflab.book.plotting import book_style
from difflab.core.devices import set_float32_precision


def start_chapter() -> None:
    """The book's figure style (plotting.STYLE), and float32 computed as float32 on a GPU (no TF32),
    so that a chapter's numbers on a GPU differ from the CI build's by rounding only. Importing
    difflab changes neither: this call does."""
    book_style()
    set_float32_precision(exact=True)
