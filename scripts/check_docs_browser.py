"""Check the built docs site in a real browser: math typeset, nothing too wide.

    python scripts/check_docs_browser.py [--site SITE_DIR] [--browser PATH]
    python scripts/check_docs_browser.py --page convolution   # a few pages

Builds the site (``mkdocs build --strict``) unless ``--site`` names a built
one, copies it, adds a small measuring script to every page, and opens each
page in headless Chromium in a 1280x900 window, offline (file:// URLs). On
every page it checks that

* every formula (``arithmatex`` element) was typeset by KaTeX, with no KaTeX
  error: the KaTeX files are served by the site itself;
* no code block, output or formula is wider than its box (no horizontal
  scroll bar), and the page itself does not scroll sideways;

and it reports how many monospace characters fit on a line of a code block:
the limit tests/test_docs.py holds every code line to must not exceed it.
Exits 1 and lists the problems if any page fails, 2 if no browser is found.
"""

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
WINDOW = (1280, 900)

# Runs in the page once its fonts are in: writes its findings into the DOM,
# which the browser then dumps (--dump-dom) for this script to read.
MEASURE = """
<script>
window.addEventListener("load", () => document.fonts.ready.then(() =>
  setTimeout(() => {
    const wide = (el) => el.scrollWidth > el.clientWidth + 1;
    const boxes = [...document.querySelectorAll(
      ".md-typeset pre > code, .md-typeset .katex-display, .md-typeset table")];
    const code = document.querySelector(".md-typeset pre > code");
    let fits = null;
    if (code) {
      const probe = document.createElement("span");
      probe.textContent = "x".repeat(200);
      code.appendChild(probe);
      const style = getComputedStyle(code);
      const inner = code.clientWidth - parseFloat(style.paddingLeft)
        - parseFloat(style.paddingRight);
      fits = Math.floor(inner / (probe.getBoundingClientRect().width / 200));
      probe.remove();
    }
    const report = {
      math: document.querySelectorAll(".arithmatex").length,
      typeset: document.querySelectorAll(".arithmatex .katex").length,
      katex_errors: document.querySelectorAll(".katex-error").length,
      too_wide: boxes.filter(wide).map(
        (el) => el.tagName.toLowerCase() + ": " +
          el.textContent.trim().split("\\n")[0].slice(0, 60)),
      page_scrolls: document.documentElement.scrollWidth > window.innerWidth,
      code_chars_fit: fits,
    };
    const out = document.createElement("pre");
    out.id = "docs-browser-check";
    out.textContent = JSON.stringify(report);
    document.body.appendChild(out);
  }, 200)));
</script>
"""


def find_browser(given):
    for name in ([given] if given else BROWSERS):
        path = shutil.which(name) or (name if pathlib.Path(name).is_file() else None)
        if path:
            return path
    return None


def measure(browser, page):
    command = [
        browser, "--headless=new", "--no-sandbox", "--disable-gpu",
        "--allow-file-access-from-files", f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="docs-browser-check">(.*?)</pre>', dom, re.S)
    if found is None:
        return None
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))


def problems_of(name, report):
    if report is None:
        return [f"{name}: the measuring script did not report (page broken?)"]
    found = []
    if report["typeset"] != report["math"] or report["katex_errors"]:
        found.append(f"{name}: {report['typeset']} of {report['math']} formulas "
                     f"typeset, {report['katex_errors']} KaTeX errors")
    found += [f"{name}: wider than its box: {what}" for what in report["too_wide"]]
    if report["page_scrolls"]:
        found.append(f"{name}: the page scrolls sideways")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=pathlib.Path, help="a built site (default: build one)")
    parser.add_argument("--browser", help="the browser's path (default: chromium on PATH)")
    parser.add_argument("--page", action="append", default=[],
                        help="check only this page, in every language (a docs name such as 'convolution'; repeat for more)")
    args = parser.parse_args(argv)
    browser = find_browser(args.browser)
    if browser is None:
        print("no Chromium found: apt-get install chromium (or pass --browser)")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        site = pathlib.Path(scratch) / "site"
        if args.site:
            shutil.copytree(args.site, site)
        else:
            subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                            "--site-dir", str(site)], cwd=ROOT, check=True)
        pages = sorted(p for p in site.rglob("*.html")
                       if p.name != "404.html" and "assets" not in p.parts
                       and (not args.page or p.parent.name in args.page))
        problems, fits, math = [], [], 0
        for page in pages:
            html = page.read_text(encoding="utf-8")
            page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
            name = str(page.relative_to(site))
            report = measure(browser, page)
            problems += problems_of(name, report)
            if report:
                math += report["typeset"]
                if report["code_chars_fit"]:
                    fits.append(report["code_chars_fit"])
    print(f"{len(pages)} pages, {math} formulas typeset, "
          f"code blocks fit {min(fits) if fits else '?'} characters a line "
          f"at {WINDOW[0]}x{WINDOW[1]}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
