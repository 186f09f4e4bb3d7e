"""Peak memory while reading a large WARC file: it must stay flat, whatever the file size.

Generates a synthetic CC-NEWS-like `.warc.gz` of about `--size-mb` megabytes in /tmp (kept for
reruns): per-record gzip, a warcinfo record, then HTML news pages of about 90 KB (an inline script
of random data, navigation, a footer and an article of a dozen paragraphs), with a request record
before every page, and an image, a redirect and a 404 after every fourth page. Then, in a fresh
process, reads it with `iter_documents` exactly as `stance predict` does (decompression, warcio,
trafilatura extraction, language identification) and prints the peak RSS, RSS samples along the
way (flat means streaming) and the reading rate.

    python benchmarks/warc_memory.py --size-mb 200
"""

from __future__ import annotations

import argparse
import base64
import random
import resource
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = (
    "the a government rebels talks said minister peace agreement ceasefire officials meeting "
    "week council president negotiations opposition delegation envoy proposal condition "
    "withdrawal troops border election spokesman statement conference capital"
).split()


def generate(path: Path, size_mb: int, seed: int = 13) -> int:
    """Write the synthetic WARC; return the number of HTML pages in it."""
    from warcio.warcwriter import WARCWriter

    rng = random.Random(seed)
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(80))
    target, pages = size_mb * 1_000_000, 0
    temporary = path.with_suffix(".partial")
    with open(temporary, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "benchmark"}))
        while out.tell() < target:
            pages += 1
            url = f"https://news{pages % 50}.example.com/world/{pages}"
            _write(writer, url, "request", None, b"GET / HTTP/1.1\r\n\r\n")
            html = _page(rng, nav, pages).encode()
            _write(writer, url, "response", ("200 OK", "text/html; charset=utf-8"), html)
            if pages % 4 == 0:
                image = rng.randbytes(30_000)
                _write(writer, url + ".jpg", "response", ("200 OK", "image/jpeg"), image)
                _write(writer, url + "/old", "response", ("301 Moved", "text/html"), b"")
                _write(writer, url + "/gone", "response", ("404 Not Found", "text/html"), b"")
    temporary.replace(path)
    return pages


def _write(writer, url: str, kind: str, http: tuple[str, str] | None, payload: bytes) -> None:
    from warcio.statusandheaders import StatusAndHeaders

    headers = None
    if http:
        headers = StatusAndHeaders(http[0], [("Content-Type", http[1])], protocol="HTTP/1.1")
    record = writer.create_warc_record(
        url,
        kind,
        payload=BytesIO(payload),
        http_headers=headers,
        warc_headers_dict={"WARC-Date": "2019-03-04T10:00:00Z"},
    )
    writer.write_record(record)


def _page(rng: random.Random, nav: str, number: int) -> str:
    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))).capitalize() + "."

    blob = base64.b64encode(rng.randbytes(45_000)).decode()
    body = "".join(f"<p>{' '.join(sentence() for _ in range(3))}</p>" for _ in range(12))
    return (
        f'<html><head><title>Story {number}</title><script>var state = "{blob}";</script>'
        f"</head><body><nav><ul>{nav}</ul></nav><article><h1>Talks, story {number}</h1>"
        f"{body}</article><footer><ul>{nav}</ul></footer></body></html>"
    )


def rss_mb() -> float:
    """The current resident set size (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def read(path: Path, samples: int = 8) -> None:
    """Read every document of the WARC as predict does; print RSS along the way and the peak."""
    sys.path.insert(0, str(REPO))
    from pipeline.articles import iter_documents
    from pipeline.language import identify_language

    identify_language("warm up the language model before the baseline is taken " * 3)
    baseline, started = rss_mb(), time.time()
    documents, problems, sampled = 0, 0, []
    every = max(1, int(path.stat().st_size / 62_000 / samples))
    for item in iter_documents([str(path)]):
        if hasattr(item, "doc_id"):
            documents += 1
            if documents % every == 0:
                sampled.append(round(rss_mb()))
        else:
            problems += 1
    seconds = time.time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB on disk, gzip per record)")
    print(f"documents: {documents}; problems reported: {problems}")
    print(f"RSS after imports: {baseline:.0f} MB; RSS along the way (MB): {sampled}")
    print(f"peak RSS: {peak:.0f} MB (1 MB = 10^6 bytes)")
    print(f"reading: {seconds:.0f} s, {documents / seconds:.1f} documents/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the WARC on disk")
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)  # the measuring process
    args = parser.parse_args()
    if args.read:
        read(args.read)
        return
    path = Path("/tmp") / f"stance-benchmark-{args.size_mb}mb.warc.gz"
    if not path.exists():
        started = time.time()
        pages = generate(path, args.size_mb)
        print(f"generated {path}: {pages} pages in {time.time() - started:.0f} s")
    # A fresh process, so the peak is the reader's alone (not the generator's).
    subprocess.run([sys.executable, __file__, "--read", str(path)], check=True)


if __name__ == "__main__":
    main()
