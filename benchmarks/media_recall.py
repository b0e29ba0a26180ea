"""Benchmark of the media stage on an edit: what handing the unchanged lectures forward costs, in
seconds and in counts (counts do not suffer from a shared CPU, seconds do).

    python benchmarks/media_recall.py --courses 300 --keep /tmp/me-300   # writes and builds it once
    python benchmarks/media_recall.py --keep /tmp/me-300                 # again, on the same folder

Writes a synthetic catalogue (benchmarks/catalogue.py, one shared tiny clip) and builds it when
the folder holds none yet, then makes two edits, each followed by one `weike build` in this
process: a paragraph added to one lecture's notes, and one lecture's clip replaced by a new one (or
put back, on every other run). For each it prints the media stage's seconds and what it looked at:
lectures digested one by one, courses whose values were taken back from the ledger, values made
from manifest records, reads of manifest.json, lectures planned and placed, files stat'ed.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import write_repository  # noqa: E402
from benchmarks.scale import edit_notes, replace_media  # noqa: E402

#: What is counted, as (module, function) of the media stage.
COUNTED = (("stage", "lecture_digest"), ("stage", "delivered_from_record"), ("stage", "read_manifest"),
           ("stage", "plan_lecture"), ("stage", "place_delivered"), ("ledger", "recall"))


def counting(counts: collections.Counter) -> None:
    """Count calls of :data:`COUNTED` and of ``os.stat`` in the media stage (the real functions run)."""
    from weike.plugins.media import stage

    modules = {"stage": stage, "ledger": stage.DeliveryLedger}
    for module_name, name in COUNTED:
        module, real = modules[module_name], getattr(modules[module_name], name)

        def wrapper(*args, _real=real, _name=name, **kwargs):
            counts[_name] += 1
            return _real(*args, **kwargs)

        setattr(module, name, wrapper)
    real_stat, real_deliver = os.stat, stage.deliver_media

    def stat(*args, **kwargs):
        counts["os.stat"] += 1
        return real_stat(*args, **kwargs)

    def deliver_media(*args, **kwargs):  # files stat'ed by the media stage alone
        os.stat = stat
        try:
            return real_deliver(*args, **kwargs)
        finally:
            os.stat = real_stat

    stage.deliver_media = deliver_media


def swap_media(root: Path, slug: str) -> str:
    """One lecture's clip replaced by a new one, or the new one taken away again."""
    lecture = root / "courses" / slug / "05-lecture-5"
    if not (lecture / "video-new.mp4").exists():
        replace_media(root, slug)
        return "a new clip"
    front = lecture / "lecture.md"
    front.write_text(front.read_text(encoding="utf-8").replace("media: video-new.mp4\n", "", 1), encoding="utf-8")
    (lecture / "video-new.mp4").unlink()
    return "the shared clip again"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=300, help="synthetic courses, when the folder holds none")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args()
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    root = (args.keep or Path(tempfile.mkdtemp(prefix="weike-bench-media-"))) / "repo"
    if not (root / "courses").is_dir():
        write_repository(root, args.courses, with_media=True)
        (root / "weike.yml").write_text("site_url: https://weike.example.gov.cn/\n", encoding="utf-8")
    started = time.perf_counter()
    build(root, progress=Progress(), jobs=2)  # cold after a code change: every cache is keyed by the code
    print(f"first build {time.perf_counter() - started:.1f} s", flush=True)
    counts: collections.Counter = collections.Counter()
    counting(counts)
    for label, edit in (("one lecture's notes", lambda: edit_notes(root, "course-00000")),
                        ("one lecture's media", lambda: swap_media(root, "course-00001"))):
        edit()
        counts.clear()
        result = build(root, progress=Progress(), jobs=2)
        lectures = result.lectures
        print(f"{label:22s} media stage {result.stage_seconds.get('media', 0.0):5.2f} s  "
              f"of {lectures} lectures: {counts['lecture_digest']} digested one by one, "
              f"{counts['recall']} courses' values taken back from the ledger, "
              f"{counts['delivered_from_record']} values made from manifest records "
              f"(manifest read {counts['read_manifest']} times), {counts['plan_lecture']} planned, "
              f"{counts['place_delivered']} placed; {counts['os.stat']} files stat'ed", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
