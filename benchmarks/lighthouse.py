"""Lighthouse (mobile) scores of the demo site's home, course and lecture pages.

    python benchmarks/lighthouse.py                  # this working tree
    python benchmarks/lighthouse.py --ref 5443bb4    # a commit (git archive), e.g. before a change
    python benchmarks/lighthouse.py --ref 5443bb4 --ref HEAD --runs 3   # before/after in one run
    python benchmarks/lighthouse.py --keep /tmp/site; python benchmarks/lighthouse.py --site /tmp/site

For each version: builds the demo repository (``weike build --only site`` with that version's own
code, in a temporary copy), serves ``dist/site`` on 127.0.0.1 (gzip, like any real host), and runs
Lighthouse from npm with Debian's Chromium (``CHROME_PATH=/usr/bin/chromium``; never a downloaded
browser). Lighthouse is installed once with ``npm install lighthouse`` into
``~/.cache/weike-lighthouse`` (or ``--lighthouse-dir``). Prints the median of ``--runs`` runs per
page and category, and the failing audits. Not part of the test suite: it needs npm and takes
minutes. Targets: accessibility 100, performance >= 95 on every page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.static_server import serve  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PAGES = {"home": "", "course": "courses/zhineng-shouji/", "lecture": "courses/zhineng-shouji/01-kaiji-guanji/"}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def install_lighthouse(folder: Path) -> Path:
    binary = folder / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), "lighthouse"], check=True)
    return binary


def checkout(ref: str | None, into: Path) -> Path:
    """The code and demo repository of ``ref`` (None: this working tree) in ``into``."""
    if ref is None:
        shutil.copytree(REPO_ROOT, into, ignore=shutil.ignore_patterns(".git", "dist", ".weike", "__pycache__"))
    else:
        into.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", ref], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def build(root: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-m", "weike.builder", "build", "--only", "site", "-q", str(root)],
                   cwd=root, env=env, check=True)
    return root / "dist" / "site"


def lighthouse(binary: Path, url: str) -> dict:
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    completed = subprocess.run(
        [str(binary), url, "--quiet", "--output=json", "--output-path=stdout", "--form-factor=mobile",
         f"--only-categories={','.join(CATEGORIES)}",
         "--chrome-flags=--headless --no-sandbox --disable-gpu"],
        env=env, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout)


def measure(label: str, ref: str | None, binary: Path, runs: int, *, site: Path | None = None,
            keep: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="weike-lighthouse-") as folder:
        if site is None:
            site = build(checkout(ref, Path(folder) / "repo"))
            if keep is not None:
                shutil.copytree(site, keep, dirs_exist_ok=True)
        server = serve(site)
        figures = {}
        try:
            for name, path in PAGES.items():
                reports = [lighthouse(binary, f"http://127.0.0.1:{server.server_port}/{path}") for _ in range(runs)]
                scores = {c: statistics.median(round(100 * r["categories"][c]["score"]) for r in reports)
                          for c in CATEGORIES}
                failing = sorted({audit_id for r in reports for c in ("accessibility", "performance")
                                  for ref_ in r["categories"][c]["auditRefs"] if ref_["weight"] > 0
                                  for audit_id in [ref_["id"]]
                                  if (r["audits"][audit_id].get("score") is not None
                                      and r["audits"][audit_id]["score"] < 0.9)})
                lcp = statistics.median(r["audits"]["largest-contentful-paint"]["numericValue"] for r in reports)
                figures[name] = {"scores": scores, "failing": failing, "lcp_ms": lcp}
                print(f"{label:<12} {name:<8} " + " ".join(f"{c}={scores[c]:>3}" for c in CATEGORIES)
                      + f"  LCP {lcp / 1000:.2f} s", flush=True)
                if failing:
                    print(f"{'':<21} below 0.9: {', '.join(failing)}", flush=True)
        finally:
            server.shutdown()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", action="append", help="a git commit to measure (repeatable); default: the working tree")
    parser.add_argument("--runs", type=int, default=1, help="Lighthouse runs per page (median), default 1")
    parser.add_argument("--lighthouse-dir", type=Path, default=Path.home() / ".cache" / "weike-lighthouse")
    parser.add_argument("--site", type=Path, help="measure this already built demo site instead of building one")
    parser.add_argument("--keep", type=Path, help="copy the built site here (to measure it again with --site)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    binary = install_lighthouse(args.lighthouse_dir)
    results = {}
    if args.site:
        results["site"] = measure(str(args.site)[-12:], None, binary, args.runs, site=args.site)
    for ref in ([] if args.site else args.ref or [None]):
        results[ref or "worktree"] = measure(ref or "worktree", ref, binary, args.runs, keep=args.keep)
    ok = all(f["scores"]["accessibility"] == 100 and f["scores"]["performance"] >= 95
             for figures in results.values() for f in figures.values())
    print("targets (accessibility 100, performance >= 95):", "met" if ok else "not met for every version/page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
