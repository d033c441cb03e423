"""Cold publish against Hugo (not part of the test suite), on the same corpus.

The corpus of `bench/generate.py` is converted once into a Hugo site: one content page
per seed, whose front matter has the story's title, date, topics and provider as
taxonomies, and whose body is the excerpt and the related coverage as a Markdown list.
Hugo then writes RSS and Atom for the home page and for every topic and provider term
(50 items each), which is what a user would set Hugo up to do for feeds per topic and
per outlet; `aggregator publish` writes everything it writes by default (RSS, Atom,
JSON Feed, archives, pages). Each run starts cold (no output, no state, no Hugo
resources); the two take turns, `--repeat` times, and the medians and their ratio are
printed and saved as JSON, with the peak memory of each process tree. A third run in
each turn is `bench.floor`: Hugo's output alone, written with yaml-rs and feedgen in
Python and nothing else, the least a publisher on those parts could take; a fourth is
`bench.floor --every-output`, the same with everything the publisher writes beside its
feeds by default (JSON Feed, pages, archives), for Hugo's feeds; a fifth adds
`--checked`, each seed checked as the publisher checks it.

    python -m bench.hugo --sizes 1000 10000 50000 --repeat 3

Needs Debian's `hugo` (0.111).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.floor import seed_fields
from bench.generate import generate
from bench.run import cache_bytecode, median, publisher_env, save, sizes_parser, watch_peak

WORK = Path("bench/work")
ITEMS = 50
# The floor's runs: their names, the options each gives `bench.floor`, and their columns.
FLOORS = {"floor": ([], "floor: Hugo's output only"),
          "floor_all": (["--every-output"], "floor: every output"),
          "floor_checked": (["--every-output", "--checked"], "floor: every output, seeds checked")}

CONFIG = """
baseURL = "http://localhost:8000/"
title = "Aggregator"
languageCode = "en"
rssLimit = {items}
disableKinds = ["sitemap", "robotsTXT", "404", "section", "taxonomy"]
ignoreErrors = ["error-disable-taxonomy"]

[taxonomies]
topic = "topics"
provider = "providers"

[mediaTypes."application/atom+xml"]
suffixes = ["xml"]

[outputFormats.Atom]
mediaType = "application/atom+xml"
baseName = "atom"
rel = "alternate"

[outputs]
home = ["RSS", "Atom"]
term = ["RSS", "Atom"]
page = []
"""

ATOM = """{{ printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{{ .Site.Title }}: {{ .Title }}</title>
  <id>{{ .Permalink }}</id>
  <link href="{{ with .OutputFormats.Get "atom" }}{{ .Permalink }}{{ end }}" rel="self"/>
  <updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
  {{- range first %d .Pages }}
  <entry>
    <title>{{ .Title }}</title>
    <id>{{ .Params.link }}</id>
    <link href="{{ .Params.link }}"/>
    <updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
    <summary>{{ .Summary }}</summary>
    <content type="html">{{ .Content | html }}</content>
  </entry>
  {{- end }}
</feed>
"""


def convert(corpus: Path, site: Path) -> None:
    """One Hugo content page per seed of `corpus`, and the site's config and Atom template."""
    content = site / "content" / "stories"
    content.mkdir(parents=True)
    (site / "config.toml").write_text(CONFIG.format(items=ITEMS), encoding="utf-8")
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "list.atom.xml").write_text(ATOM % ITEMS, encoding="utf-8")
    for n, path in enumerate(sorted(p for p in corpus.rglob("*") if p.is_file())):
        _, front, body = path.read_text(encoding="utf-8").split("---", 2)
        seed = seed_fields(yaml.load(front, Loader=yaml.CSafeLoader))
        lines = [seed.excerpt, "", "### Related coverage", ""]
        lines += [f"- [{json.dumps(title)[1:-1]}]({url}) ({outlet})" for url, title, outlet in seed.related]
        page = {"title": seed.title, "date": seed.date, "link": seed.link, "topics": seed.topics,
                "providers": [seed.provider]}
        front_matter = json.dumps(page, ensure_ascii=False)  # JSON front matter: Hugo reads it as is
        (content / f"{n:06d}.md").write_text(f"{front_matter}\n\n" + "\n".join(lines) + body, encoding="utf-8")


def _timed(args: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=publisher_env())
    peak, peak_pss = watch_peak(proc)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"{args[0]} failed ({proc.returncode}): {proc.stderr.read()}")
    return {"wall_s": wall, "peak_rss_mb": peak / 2**20, "peak_pss_mb": peak_pss / 2**20}


def bench_size(size: int, repeat: int) -> dict[str, Any]:
    corpus = WORK / f"corpus-{size}"
    if not corpus.exists():
        generate(corpus, size, seed=size)
    site = WORK / f"hugo-{size}"
    if not (site / "config.toml").exists():
        shutil.rmtree(site, ignore_errors=True)
        convert(corpus, site)
    ours = WORK / f"hugo-ours-{size}"
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in ["aggregator", "hugo", *FLOORS]}
    for _ in range(repeat):
        for name in runs:
            shutil.rmtree(site / "public", ignore_errors=True)
            shutil.rmtree(site / "resources", ignore_errors=True)
            shutil.rmtree(ours, ignore_errors=True)
            if name == "hugo":
                args = ["hugo", "--quiet", "--source", str(site.resolve()), "--destination",
                        str((site / "public").resolve()), "--cacheDir", str((site / "cache").resolve())]
            elif name in FLOORS:
                args = [sys.executable, "-m", "bench.floor", str(corpus), str(ours / "feeds"), *FLOORS[name][0]]
            else:
                args = [sys.executable, "-m", "aggregator", "publish", "-q", "--seeds", str(corpus),
                        "--feeds", str(ours / "feeds"), "--state", str(ours / "state.sqlite")]
            runs[name].append(_timed(args))
    result: dict[str, Any] = {"seeds": size}
    for name, found in runs.items():
        result[name] = median(found)
    result["ratio"] = round(result["aggregator"]["wall_s"] / result["hugo"]["wall_s"], 3)
    for name in FLOORS:
        result[f"{name}_ratio"] = round(result[name]["wall_s"] / result["hugo"]["wall_s"], 3)
    return result


def _cell(run: dict[str, float]) -> str:
    return f"{run['wall_s']:.2f} s, {run['peak_pss_mb']:.0f} MB"


def main() -> None:
    args = sizes_parser("python -m bench.hugo", __doc__, "bench/results/hugo.json").parse_args()
    if shutil.which("hugo") is None:
        raise SystemExit("hugo is not installed (Debian: apt-get install hugo)")
    cache_bytecode()
    version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()
    print(version)
    columns = ["aggregator publish, cold (every output)", "Hugo, RSS + Atom per term", "ratio"]
    for _, label in FLOORS.values():
        columns += [label, "its ratio"]
    print("| seeds | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    results = []
    for size in args.sizes:
        found = bench_size(size, args.repeat)
        results.append(found)
        cells = [_cell(found["aggregator"]), _cell(found["hugo"]), f"{found['ratio']:.2f}"]
        for name in FLOORS:
            cells += [_cell(found[name]), f"{found[f'{name}_ratio']:.2f}"]
        print(f"| {size:,} | " + " | ".join(cells) + " |", flush=True)
    save(args.out, {"hugo": version, "runs": results})


if __name__ == "__main__":
    main()
