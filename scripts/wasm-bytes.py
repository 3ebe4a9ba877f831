#!/usr/bin/env python3
"""Where the client's WASM bytes go: reads `twiggy top --format csv` of the module as rustc built
it (names kept, before wasm-bindgen and wasm-opt) and sums the bytes per crate, per app feature
(app::portal, app::admin, ...) and for serde's code, largest first.

Usage: twiggy top --format csv app.wasm | scripts/wasm-bytes.py
The shares are of the unoptimised module; wasm-opt shrinks every part, not all alike.
"""
import csv
import re
import sys
from collections import Counter

WRAPPERS = re.compile(r"^(?:<|&|\*const |\*mut |mut |dyn |impl )+")


def crate_of(name: str) -> str:
    """The crate a symbol belongs to: the first path segment, past `<`, `&` and the like."""
    if name.startswith(("data[", "data segment", "elem[")):
        return "(data)"
    # `<T as tachys::view::Render>::build`: a generic impl is counted with the trait's crate.
    generic = re.match(r"^<[A-Za-z0-9_]+ as ([A-Za-z_][A-Za-z0-9_]*)::", name)
    if generic:
        return generic.group(1)
    if "::" not in name:
        return "(wasm-bindgen glue, removed by wasm-bindgen)"
    head = WRAPPERS.sub("", name).split("::", 1)[0]
    return head if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", head) else "(other)"


def feature_of(name: str) -> str | None:
    """`app::admin::pages::...` -> `app::admin`: the app's code by feature."""
    match = re.match(r"^<?(app::[a-z_]+)", name)
    return match.group(1) if match else None


def main() -> None:
    rows = list(csv.DictReader(sys.stdin))
    total = 0
    crates: Counter[str] = Counter()
    features: Counter[str] = Counter()
    serde = 0
    for row in rows:
        # `core[c5930c85a12de822]::fmt`: drop the crate's disambiguating hash.
        name = re.sub(r"\[[0-9a-f]{16}\]", "", row["Name"])
        # Names and wasm-bindgen's custom sections never reach the browser.
        if name.startswith(("Σ", "...", "custom section", '"')) or "subsection" in name:
            continue
        size = int(row["ShallowSize"])
        total += size
        crates[crate_of(name)] += size
        if (feature := feature_of(name)) is not None:
            features[feature] += size
        if "serde" in name:
            serde += size

    def table(title: str, counts: Counter[str], top: int) -> None:
        print(f"\n{title}")
        print(f"{'':32} {'bytes':>10} {'share':>7}")
        for key, size in counts.most_common(top):
            print(f"{key:32} {size:>10,} {size / total:>7.1%}")

    print(f"module: {total:,} bytes (code and data, before wasm-bindgen and wasm-opt)")
    table("by crate", crates, 20)
    table("the app's own code, by feature", features, 20)
    print(f"\nany symbol naming serde: {serde:,} bytes ({serde / total:.1%})")


if __name__ == "__main__":
    main()
