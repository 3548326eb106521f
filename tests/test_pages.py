"""Every page of the rendered book, opened in headless Chromium as a reader would open it.

The book is served from _build/html on 127.0.0.1; any request elsewhere is blocked and recorded.
Each page must load without console or page errors, show every image, typeset every equation with
the book's own MathJax, show every glued number as the executed notebook has it, link to Colab and
to the repository exactly, and carry no build noise (tracebacks, stderr, progress bars, the build
machine's paths, papermill's injected parameters). A full-page screenshot of each page is saved
under _build/screenshots/. Chromium is Debian's (`make setup` installs it); in CI these tests run.
"""

import os
import re
import shutil
import threading
from functools import cache, partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
from book import APPENDIX_PAGES, CHAPTER_PAGES, HTML, ROOT, TOC, glued, repository

from difflab.book.plotting import DPI, MIN_FONT_PT

pytestmark = pytest.mark.book
SCREENSHOTS = ROOT / "_build" / "screenshots"
PAGES = [TOC["root"], *CHAPTER_PAGES, *APPENDIX_PAGES]
REPOSITORY, BRANCH = repository.repository()
GLUE_ROLE = re.compile(r"\{glue:(text|md)\}`(?:([^`:]+\.ipynb)::)?([^`:]+)(?::([^`]*))?`")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str | None:
    """$DIFFLAB_CHROMIUM, else Debian's chromium (or another Chromium on PATH)."""
    names = [
        os.environ.get("DIFFLAB_CHROMIUM", ""),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ]
    return next(filter(None, (shutil.which(n) for n in names if n)), None)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """_build/html served on an ephemeral port of 127.0.0.1."""
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML} is missing: build the book first (`make book`)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(HTML)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    if executable is None:
        message = (
            "Chromium is missing: run `sudo apt-get install chromium` (or `make setup` as root)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


READ_PAGE = """async () => {
  for (const img of document.images) img.loading = 'eager';
  await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  const prose = document.querySelector('main').cloneNode(true);
  prose.querySelectorAll('pre, code, .cell_input, mjx-container, script').forEach(e => e.remove());
  const href = sel => [...document.querySelectorAll(sel)].map(a => a.getAttribute('href'));
  return {
    images: [...document.images].map(i => ({src: i.currentSrc, width: i.naturalWidth})),
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('.math mjx-container').length,
    math_errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    mathjax_version: window.MathJax && MathJax.version,
    glue: [...document.querySelectorAll('main .pasted-text')].map(e => e.textContent),
    colab: href('a[href*="colab.research.google.com"]'),
    repository: href('a.btn-source-repository-button'),
    prose: prose.innerText,
    text: document.querySelector('main').innerText,
    stderr: document.querySelectorAll('.output.stderr, .stderr').length,
    unfigured: [...document.querySelectorAll('main img[src*="_images/"]')]
      .filter(i => !i.closest('figure')).map(i => i.src),
    overflowing: [...document.querySelectorAll('main pre')]
      .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60)),
    outputs: [...document.querySelectorAll('main .cell_output')].map(o => o.innerText),
    cells: [...document.querySelectorAll('main td, main th')].map(c => c.innerText.trim()),
    headers: [...document.querySelectorAll('main thead th')].map(c => c.innerText.trim()),
    empty_header_rows: [...document.querySelectorAll('main thead tr')]
      .filter(r => [...r.cells].every(c => !c.innerText.trim())).length,
    wide_tables: [...document.querySelectorAll('main table')]
      .filter(t => t.getBoundingClientRect().width > document.querySelector('main article')
        .clientWidth + 1).map(t => t.innerText.slice(0, 60)),
    headings: [...document.querySelectorAll('main h1, main h2, main h3, main h4')]
      .map(h => h.innerText.replace(/#$/, '').trim()),
    figure_images: [...document.querySelectorAll('main img[src*="_images/"]')].map(i => ({
      src: i.getAttribute('src'), natural: i.naturalWidth,
      shown: i.getBoundingClientRect().width})),
    figures: [...document.querySelectorAll('main figure')].map(f => ({
      id: f.id, caption: (f.querySelector('figcaption') || {}).innerText || ''})),
  };
}"""


@cache
def visit(page: str, site: str, browser) -> dict:
    """Open one page, wait for its images and equations, and read what a test needs."""
    outside, errors = [], []
    # the theme's full width: its code blocks show 91 columns (the chapters' cells use 88)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlparse(route.request.url).hostname == "127.0.0.1"
            else (outside.append(route.request.url), route.abort())
        ),
    )
    tab = context.new_page()
    tab.on(
        "console",
        lambda message: message.type == "error" and errors.append(f"console: {message.text}"),
    )
    tab.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    response = tab.goto(f"{site}/{page}.html", wait_until="networkidle")
    seen = tab.evaluate(READ_PAGE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=SCREENSHOTS / f"{Path(page).name}.png", full_page=True)
    context.close()
    return {**seen, "status": response.status, "outside": outside, "errors": errors}


@pytest.fixture(params=PAGES)
def page(request, site, browser):
    return request.param, visit(request.param, site, browser)


def expected_glue(page: str) -> tuple[list[str], list[str]]:
    """What `page` must show for its glued values, formatted from the executed notebooks: the
    `{glue:text}` numbers in order (each in its own span), and the `{glue:md}` texts (inline)."""
    numbers, texts = [], []
    for kind, notebook, key, spec in GLUE_ROLE.findall((ROOT / f"{page}.md").read_text()):
        value = glued(Path(notebook or page).stem)[key]
        if kind == "md":
            texts.append(re.sub(r"[*_`]", "", str(value)).strip())
        else:
            numbers.append(format(float(value) if spec[-1:] in tuple("eEfFgGn%") else value, spec))
    return numbers, texts


def test_page_loads_without_errors_or_outside_requests(page):
    name, seen = page
    assert seen["status"] == 200
    assert seen["errors"] == [], f"{name}: {seen['errors']}"
    assert seen["outside"] == [], f"{name} asks for pages outside the book: {seen['outside']}"


def test_every_image_is_shown(page):
    name, seen = page
    broken = [i["src"] for i in seen["images"] if i["width"] == 0]
    assert seen["images"] or name in APPENDIX_PAGES, f"{name}: no image"
    assert not broken, f"{name}: images not shown: {broken}"


def test_every_equation_is_typeset_by_the_books_mathjax(page):
    name, seen = page
    if seen["math"]:
        assert seen["mathjax_version"] and seen["mathjax_version"].startswith("3."), seen[
            "mathjax_version"
        ]
    assert seen["typeset"] == seen["math"], (
        f"{name}: {seen['typeset']} of {seen['math']} equations typeset"
    )
    assert seen["math_errors"] == 0
    raw = [m for m in ("$$", "\\(", "\\[", "\\frac", "\\mathbb") if m in seen["prose"]]
    assert not raw, f"{name}: raw TeX left in the text: {raw}"


def test_every_glued_number_is_the_executed_notebooks(page):
    name, seen = page
    numbers, texts = expected_glue(name)
    assert numbers or name in APPENDIX_PAGES, f"{name}: no glued number"
    assert all(text.strip() for text in seen["glue"]), f"{name}: an empty glued value"
    assert [text.strip() for text in seen["glue"]] == numbers
    assert all(text and text in seen["prose"] for text in texts), f"{name}: {texts}"


def test_colab_and_repository_links_are_exact(page):
    name, seen = page
    owner_name = urlparse(REPOSITORY).path.strip("/")
    notebook = (
        [f"https://colab.research.google.com/github/{owner_name}/blob/{BRANCH}/{name}.ipynb"]
        if name in CHAPTER_PAGES
        else []
    )
    assert seen["colab"] == notebook
    assert seen["repository"] == [REPOSITORY]


def test_no_build_noise_on_the_page(page):
    name, seen = page
    text = seen["text"]
    assert seen["stderr"] == 0, f"{name}: a stderr output block is shown"
    for noise in (
        "Traceback (most recent call last)",
        "Warning:",
        "site-packages",
        str(ROOT),
        "/tmp/",
        "# Parameters",
        "injected-parameters",
    ):
        assert noise not in text, f"{name}: {noise!r} on the page"
    assert not re.search(r"\d+%\|[^|\n]*\|", text), f"{name}: a progress bar on the page"


def test_every_figure_has_a_caption_and_a_name(page):
    name, seen = page
    if name == TOC["root"]:  # the intro's one image, pasted from chapter 2
        assert len(seen["images"]) == 1 and not seen["figures"]
        return
    assert name in APPENDIX_PAGES or seen["figures"], f"{name}: a chapter without a figure"
    assert not seen["unfigured"], f"{name}: images outside a figure: {seen['unfigured']}"
    unnamed = [f for f in seen["figures"] if not f["id"] or not f["caption"].strip()]
    assert not unnamed, f"{name}: figures without a name or caption: {unnamed}"


def test_no_code_block_scrolls_sideways(page):
    name, seen = page
    assert not seen["overflowing"], f"{name}: code cells wider than the page: {seen['overflowing']}"


@pytest.mark.parametrize("name", PAGES)
def test_numbers_are_glued_as_a_reader_reads_them(name):
    """A float in the text carries a format (digits chosen per quantity); an integer is glued as
    an integer, so it never reads "479.0"."""
    bare = []
    for kind, notebook, key, spec in GLUE_ROLE.findall((ROOT / f"{name}.md").read_text()):
        value = glued(Path(notebook or name).stem)[key]
        if kind == "text" and not spec and isinstance(value, float):
            bare.append(key)
    assert not bare, f"{name}: floats glued into the text without a format: {bare}"


# What a page shows of a Python object's repr or a pandas dump, never meant for a reader.
REPR = re.compile(
    r"np\.(float|int)\d+\(|dtype: |\bProfile\(|\bTrainConfig\(|\b[A-Z]\w+\(\w+=|^\{'|tensor\(|array\("
)
UNRENDERED_ROLE = re.compile(r"\{(glue|glue:text|glue:md|numref|eq|ref|doc|cite|cite:p|cite:t)\}`")
IDENTIFIER = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def test_no_repr_or_dump_in_an_output(page):
    name, seen = page
    dumps = [text[:80] for text in seen["outputs"] if REPR.search(text)]
    assert not dumps, f"{name}: outputs that print a repr or a dump: {dumps}"


def test_no_nan_and_no_unrendered_role(page):
    name, seen = page
    assert not [c for c in seen["cells"] if re.search(r"\bnan\b", c, re.I)], (
        f"{name}: NaN in a table"
    )
    assert not re.search(r"\bNaN\b", seen["prose"]), f"{name}: NaN in the text"
    assert not UNRENDERED_ROLE.search(seen["text"]), f"{name}: a role shown as its source"


def test_tables_are_for_readers(page):
    """Headers in words (no identifier), no header row left empty, no table wider than the text."""
    name, seen = page
    identifiers = [h for h in seen["headers"] if IDENTIFIER.match(h)]
    assert not identifiers, f"{name}: identifiers as table headers: {identifiers}"
    assert seen["empty_header_rows"] == 0, f"{name}: a table header row with nothing in it"
    assert not seen["wide_tables"], f"{name}: tables wider than the text: {seen['wide_tables']}"


def test_headings_are_numbered_once(page):
    name, seen = page
    twice = [h for h in seen["headings"] if re.match(r"^\d+(\.\d+)*\.?\s+\d+\.\s", h)]
    assert not twice, f"{name}: headings numbered twice: {twice}"


def test_figures_text_is_legible_at_the_pages_size(page):
    """The smallest text of a figure drawn in the book's style (plotting.STYLE: MIN_FONT_PT at DPI)
    reads at 9 pt (12 CSS pixels) or more once the page has scaled the figure into its column."""
    name, seen = page
    small = [
        (Path(image["src"]).name[:12], image["natural"], round(image["shown"]))
        for image in seen["figure_images"]
        if MIN_FONT_PT * DPI / 72 * image["shown"] < 12 * image["natural"]
    ]
    assert not small, (
        f"{name}: figures whose smallest text reads below 9 pt (image, px, shown): {small}"
    )


CLEAN = {
    "headers": ["model", "RP"],
    "empty_header_rows": 0,
    "wide_tables": [],
    "headings": ["4.3. The potential"],
    "outputs": ["Profile `ci` on cpu (2 threads): Fashion-MNIST at 16x16 pixels"],
    "cells": ["0.92 [0.87, 0.94]"],
    "prose": "",
    "text": "",
    "figure_images": [{"src": "a.png", "natural": 800, "shown": 774}],
}


@pytest.mark.parametrize(
    "check, fault",
    [
        (test_no_repr_or_dump_in_an_output, {"outputs": ["Profile(name='ci', device='cpu')"]}),
        (test_no_repr_or_dump_in_an_output, {"outputs": ["a    0.5\ndtype: float64"]}),
        (test_no_repr_or_dump_in_an_output, {"outputs": ["{'x': np.float64(0.5)}"]}),
        (test_no_nan_and_no_unrendered_role, {"cells": ["NaN"]}),
        (test_no_nan_and_no_unrendered_role, {"text": "see {numref}`fig-x`"}),
        (test_tables_are_for_readers, {"headers": ["rp_min"]}),
        (test_tables_are_for_readers, {"empty_header_rows": 1}),
        (test_tables_are_for_readers, {"wide_tables": ["a table"]}),
        (test_headings_are_numbered_once, {"headings": ["5.3.4. 4. What the samples look like"]}),
        (
            test_figures_text_is_legible_at_the_pages_size,
            {"figure_images": [{"src": "a.png", "natural": 1240, "shown": 774}]},
        ),
    ],
)
def test_the_page_checks_see_what_they_catch(check, fault):
    """Each reader's-edition check passes a clean page and fails the fault it exists for."""
    check(("page", CLEAN))
    with pytest.raises(AssertionError):
        check(("page", CLEAN | fault))
