#!/usr/bin/env python3
"""Generate loket's region data sets from the idn-area-data npm package.

Usage:
    python3 tools/gen-regions.py PACKAGE_DIR [--out DIR] [--aliases TSV]

PACKAGE_DIR is the unpacked npm package (the directory holding package.json and
data/), e.g.:

    cd "$(mktemp -d)" && npm pack idn-area-data@4.0.1 && tar xzf idn-area-data-4.0.1.tgz
    python3 /path/to/loket/tools/gen-regions.py "$PWD/package"

Writes, into --out (default: flows/data next to this script's tools/ directory):
    provinces.json     38 provinces with time zone, UTC offset and aliases
    regencies.json     514 kabupaten/kota with parent province and a few aliases
    LICENSE-ODbL.txt   the package's data licence (data/LICENSE.md), copied verbatim
    NOTICE             the ODbL attribution notice

Reads the province aliases from --aliases (default: OUT/province-aliases.tsv).
Python 3 standard library only. Every check that fails stops the script with a
message and exit status 1; nothing is written unless all checks pass.
"""

import argparse
import csv
import hashlib
import json
import os
import re
import sys

# --- Expected shape of the data (DOMAIN.md section 3) -----------------------

EXPECT_PROVINCES = 38
EXPECT_REGENCIES = 514
EXPECT_KABUPATEN = 416
EXPECT_KOTA = 98

# Bare names that are both a Kota and a Kabupaten within one province.
EXPECT_KOTA_KAB_PAIRS = {
    "Bandung", "Bekasi", "Bima", "Blitar", "Bogor", "Cirebon", "Gorontalo",
    "Jayapura", "Kediri", "Kupang", "Madiun", "Magelang", "Malang", "Mojokerto",
    "Pasuruan", "Pekalongan", "Probolinggo", "Semarang", "Serang", "Solok",
    "Sorong", "Sukabumi", "Tangerang", "Tasikmalaya", "Tegal",
}

# Prefixes of regency names, longest first. The class is "Kota" or "Kabupaten";
# Jakarta's "Kota Administrasi ..." count as Kota, Kepulauan Seribu's
# "Kabupaten Administrasi ..." as Kabupaten.
PREFIXES = [
    ("Kota Administrasi ", "Kota"),
    ("Kabupaten Administrasi ", "Kabupaten"),
    ("Kota ", "Kota"),
    ("Kabupaten ", "Kabupaten"),
]

# --- Time zones (DOMAIN.md section 3), keyed by the package's province name --

WIB, WITA, WIT = ("WIB", 420), ("WITA", 480), ("WIT", 540)
TIME_ZONES = {
    # Sumatra, Bangka Belitung, Riau Islands
    "Aceh": WIB, "Sumatera Utara": WIB, "Sumatera Barat": WIB, "Riau": WIB,
    "Jambi": WIB, "Sumatera Selatan": WIB, "Bengkulu": WIB, "Lampung": WIB,
    "Kepulauan Bangka Belitung": WIB, "Kepulauan Riau": WIB,
    # Java
    "Daerah Khusus Ibukota Jakarta": WIB, "Jawa Barat": WIB, "Jawa Tengah": WIB,
    "Daerah Istimewa Yogyakarta": WIB, "Jawa Timur": WIB, "Banten": WIB,
    # West and Central Kalimantan
    "Kalimantan Barat": WIB, "Kalimantan Tengah": WIB,
    # Bali and Nusa Tenggara
    "Bali": WITA, "Nusa Tenggara Barat": WITA, "Nusa Tenggara Timur": WITA,
    # South, East and North Kalimantan
    "Kalimantan Selatan": WITA, "Kalimantan Timur": WITA, "Kalimantan Utara": WITA,
    # Sulawesi and Gorontalo
    "Sulawesi Utara": WITA, "Sulawesi Tengah": WITA, "Sulawesi Selatan": WITA,
    "Sulawesi Tenggara": WITA, "Gorontalo": WITA, "Sulawesi Barat": WITA,
    # Maluku and Papua
    "Maluku": WIT, "Maluku Utara": WIT, "Papua": WIT, "Papua Barat": WIT,
    "Papua Selatan": WIT, "Papua Tengah": WIT, "Papua Pegunungan": WIT,
    "Papua Barat Daya": WIT,
}

# --- Province aliases --------------------------------------------------------

# Canonical names a province-aliases.tsv may use that differ from the package's
# names. A TSV canonical name is first looked up as a package name as is; only
# when that fails is it looked up here. Any TSV row that maps to no province
# stops the script.
CANONICAL_TO_PACKAGE = {
    "DKI Jakarta": "Daerah Khusus Ibukota Jakarta",
    "Daerah Khusus Jakarta": "Daerah Khusus Ibukota Jakarta",
    "Jakarta": "Daerah Khusus Ibukota Jakarta",
    "DI Yogyakarta": "Daerah Istimewa Yogyakarta",
    "Yogyakarta": "Daerah Istimewa Yogyakarta",
    "Bangka Belitung": "Kepulauan Bangka Belitung",
    "Nanggroe Aceh Darussalam": "Aceh",
    "Sumatra Utara": "Sumatera Utara",
    "Sumatra Barat": "Sumatera Barat",
    "Sumatra Selatan": "Sumatera Selatan",
    "Papua Barat Daya (PBD)": "Papua Barat Daya",
}

# Aliases added on top of the TSV (DOMAIN.md section 3: the province is also
# called "Daerah Khusus Jakarta", DKJ). Duplicates of TSV rows are ignored.
EXTRA_PROVINCE_ALIASES = [
    ("daerah khusus jakarta", "Daerah Khusus Ibukota Jakarta"),
    ("dkj", "Daerah Khusus Ibukota Jakarta"),
]

# --- Regency aliases (DOMAIN.md section 4), alias -> package regency name -----

REGENCY_ALIASES = [
    ("solo", "Kota Surakarta"),
    ("jaksel", "Kota Administrasi Jakarta Selatan"),
    ("jakbar", "Kota Administrasi Jakarta Barat"),
    ("jaktim", "Kota Administrasi Jakarta Timur"),
    ("jakut", "Kota Administrasi Jakarta Utara"),
    ("jakpus", "Kota Administrasi Jakarta Pusat"),
    ("tangsel", "Kota Tangerang Selatan"),
    ("jogja", "Kota Yogyakarta"),
    ("yogya", "Kota Yogyakarta"),
    ("jogjakarta", "Kota Yogyakarta"),
    ("baubau", "Kota Bau Bau"),
]

NOTICE_TEXT = """\
loket: region data sets (flows/data/)

Contains information from idn-area-data, made available under the ODbL.

  Source:  idn-area-data {version} (npm package "idn-area-data@{version}",
           https://github.com/fityannugroho/idn-area-data), files
           data/provinces.csv and data/regencies.csv.
  Licence: Open Database License (ODbL) v1.0; the full text is in
           LICENSE-ODbL.txt in this directory (a verbatim copy of the
           package's data/LICENSE.md) and at
           https://opendatacommons.org/licenses/odbl/1-0/

Derived databases in this directory, made available under the ODbL 1.0:

  provinces.json   provinces: code and name from idn-area-data, with time zone,
                   UTC offset and aliases added by the loket project
  regencies.json   kabupaten/kota: code, province and name from idn-area-data,
                   with a few aliases added by the loket project

They are generated by tools/gen-regions.py; see README.md in this directory.

The rest of loket (its source code, flows and documentation, including
README.md and province-aliases.tsv in this directory) is not covered by this
notice and is under the project's own licence.
"""


class Fail(Exception):
    pass


def fail(msg):
    raise Fail(msg)


_PUNCT = re.compile(r"[.,\-/]")
_SPACES = re.compile(r"\s+")


def normalise(text):
    """Lowercase; '.', ',', '-', '/' become spaces; runs of spaces folded; trimmed."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def read_csv(path, header):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    if not rows or rows[0] != header:
        fail(f"{path}: expected header {','.join(header)}, got {rows[0] if rows else 'nothing'}")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            fail(f"{path}:{n}: expected {len(header)} fields, got {len(row)}: {row}")
        if any(field != field.strip() or not field for field in row):
            fail(f"{path}:{n}: empty field or stray whitespace: {row}")
        out.append(row)
    return out


def split_prefix(name):
    for prefix, cls in PREFIXES:
        if name.startswith(prefix):
            return cls, name[len(prefix):]
    return None, name


def read_alias_tsv(path):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    if not lines or lines[0].split("\t") != ["alias", "canonical"]:
        fail(f"{path}: expected header 'alias<TAB>canonical'")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != 2 or not cols[0].strip() or not cols[1].strip():
            fail(f"{path}:{n}: expected 'alias<TAB>canonical', got {line!r}")
        rows.append((n, cols[0].strip(), cols[1].strip()))
    return rows


def dump_rows(rows):
    """A JSON array with one object per line, for readable diffs."""
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build(pkg, alias_tsv):
    report = []

    # Package identity.
    try:
        with open(os.path.join(pkg, "package.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {pkg}/package.json: {e}")
    if meta.get("name") != "idn-area-data":
        fail(f"{pkg} is not the idn-area-data package (name {meta.get('name')!r})")
    version = meta.get("version", "?")
    report.append(f"package: idn-area-data {version}")

    prov_csv = os.path.join(pkg, "data", "provinces.csv")
    reg_csv = os.path.join(pkg, "data", "regencies.csv")
    lic_md = os.path.join(pkg, "data", "LICENSE.md")
    for p in (prov_csv, reg_csv):
        report.append(f"sha256 {sha256(p)}  data/{os.path.basename(p)}")

    # ---- Provinces ----
    prov_rows = read_csv(prov_csv, ["code", "name"])
    provinces = {}
    by_name = {}
    for code, name in prov_rows:
        if not re.fullmatch(r"\d{2}", code):
            fail(f"province code {code!r} is not two digits")
        if code in provinces:
            fail(f"province code {code} appears twice")
        if name in by_name:
            fail(f"province name {name!r} appears twice")
        provinces[code] = {"id": code, "name": name}
        by_name[name] = code
    if len(provinces) != EXPECT_PROVINCES:
        fail(f"expected {EXPECT_PROVINCES} provinces, got {len(provinces)}")
    report.append(f"provinces: {len(provinces)}")

    # Time zones.
    missing_tz = sorted(set(by_name) - set(TIME_ZONES))
    unknown_tz = sorted(set(TIME_ZONES) - set(by_name))
    if missing_tz or unknown_tz:
        fail(f"time-zone table does not match the package: no zone for {missing_tz}; "
             f"zone for names not in the package: {unknown_tz}")
    for p in provinces.values():
        p["tz"], p["utc_offset"] = TIME_ZONES[p["name"]]
    for tz in (WIB, WITA, WIT):
        names = [p["name"] for p in provinces.values() if p["tz"] == tz[0]]
        report.append(f"  {tz[0]} (UTC+{tz[1] // 60}): {len(names)} provinces")

    # Aliases.
    norm_names = {normalise(p["name"]): code for code, p in provinces.items()}
    aliases = {code: [] for code in provinces}
    alias_owner = {}
    dropped_same = []
    mapped = {}

    def resolve(canonical, where):
        if canonical in by_name:
            return by_name[canonical]
        if canonical in CANONICAL_TO_PACKAGE:
            target = CANONICAL_TO_PACKAGE[canonical]
            if target not in by_name:
                fail(f"{where}: CANONICAL_TO_PACKAGE maps {canonical!r} to {target!r}, "
                     f"which is not a province in the package")
            mapped[canonical] = target
            return by_name[target]
        fail(f"{where}: canonical name {canonical!r} matches no province in the package "
             f"(add it to CANONICAL_TO_PACKAGE in {os.path.basename(__file__)})")

    def add_alias(raw, canonical, where):
        code = resolve(canonical, where)
        alias = normalise(raw)
        if not alias:
            fail(f"{where}: alias {raw!r} is empty after normalisation")
        if len(alias.replace(" ", "")) <= 2:
            fail(f"{where}: alias {raw!r} is a two-letter code; those are left out "
                 f"(they clash with everyday words)")
        if alias in norm_names:
            if norm_names[alias] != code:
                fail(f"{where}: alias {alias!r} for {provinces[code]['name']} is the name "
                     f"of {provinces[norm_names[alias]]['name']}")
            dropped_same.append(alias)
            return
        if alias in alias_owner:
            if alias_owner[alias] != code:
                fail(f"{where}: alias {alias!r} is given to both "
                     f"{provinces[alias_owner[alias]]['name']} and {provinces[code]['name']}")
            return  # duplicate row for the same province
        alias_owner[alias] = code
        aliases[code].append(alias)

    tsv_rows = read_alias_tsv(alias_tsv)
    for n, raw, canonical in tsv_rows:
        add_alias(raw, canonical, f"{alias_tsv}:{n}")
    extra_added = []
    for raw, canonical in EXTRA_PROVINCE_ALIASES:
        before = len(alias_owner)
        add_alias(raw, canonical, "EXTRA_PROVINCE_ALIASES")
        if len(alias_owner) > before:
            extra_added.append(raw)

    for code, p in provinces.items():
        p["aliases"] = aliases[code]
    report.append(f"province aliases: {len(tsv_rows)} TSV rows, {len(alias_owner)} aliases kept, "
                  f"{len(set(dropped_same))} dropped as equal to the province name "
                  f"({', '.join(sorted(set(dropped_same)))})")
    report.append("  canonical names mapped via CANONICAL_TO_PACKAGE: "
                  + (", ".join(f"{k!r} -> {v!r}" for k, v in sorted(mapped.items())) or "none "
                     "(every TSV canonical name is a package name)"))
    report.append("  extra aliases added beyond the TSV: " + (", ".join(extra_added) or "none "
                  "(all already in the TSV)"))
    no_alias = [p["name"] for p in provinces.values() if not p["aliases"]]
    if no_alias:
        report.append(f"  provinces without aliases: {', '.join(no_alias)}")

    # ---- Regencies ----
    reg_rows = read_csv(reg_csv, ["code", "province_code", "name"])
    regencies = {}
    counts = {"Kota": 0, "Kabupaten": 0}
    for code, parent, name in reg_rows:
        if not re.fullmatch(r"\d{2}\.\d{2}", code):
            fail(f"regency code {code!r} is not NN.NN")
        if code in regencies:
            fail(f"regency code {code} appears twice")
        if parent not in provinces:
            fail(f"regency {code} {name}: parent province {parent} does not exist")
        if code[:2] != parent:
            fail(f"regency {code} {name}: code does not start with its parent {parent}")
        cls, bare = split_prefix(name)
        if cls is None:
            fail(f"regency {code} {name!r} starts with neither 'Kota ' nor 'Kabupaten '")
        counts[cls] += 1
        regencies[code] = {"id": code, "parent": parent, "name": name,
                           "_class": cls, "_bare": bare}
    if len(regencies) != EXPECT_REGENCIES:
        fail(f"expected {EXPECT_REGENCIES} regencies, got {len(regencies)}")
    if counts["Kabupaten"] != EXPECT_KABUPATEN or counts["Kota"] != EXPECT_KOTA:
        fail(f"expected {EXPECT_KABUPATEN} Kabupaten + {EXPECT_KOTA} Kota, got "
             f"{counts['Kabupaten']} + {counts['Kota']}")
    report.append(f"regencies: {len(regencies)} ({counts['Kabupaten']} Kabupaten + "
                  f"{counts['Kota']} Kota); every parent exists")
    empty = [p["name"] for c, p in provinces.items()
             if not any(r["parent"] == c for r in regencies.values())]
    if empty:
        fail(f"provinces without regencies: {empty}")

    # Names within one province: unique; Kota/Kabupaten pairs.
    per_prov = {}
    for r in regencies.values():
        key = (r["parent"], r["_bare"])
        per_prov.setdefault(key, []).append(r)
    pairs = set()
    for (parent, bare), rs in per_prov.items():
        classes = sorted(r["_class"] for r in rs)
        if len(rs) == 1:
            continue
        if classes != ["Kabupaten", "Kota"]:
            fail(f"bare name {bare!r} occurs as {classes} in {provinces[parent]['name']}")
        pairs.add(bare)
    report.append(f"bare names that are both Kota and Kabupaten in one province: {len(pairs)}")
    report.append("  " + ", ".join(sorted(pairs)))
    if pairs != EXPECT_KOTA_KAB_PAIRS:
        fail(f"Kota/Kabupaten pairs differ from DOMAIN.md: extra {sorted(pairs - EXPECT_KOTA_KAB_PAIRS)}, "
             f"missing {sorted(EXPECT_KOTA_KAB_PAIRS - pairs)}")

    # Informational: bare names shared across provinces, and regency names that
    # equal a province name.
    across = {}
    for r in regencies.values():
        across.setdefault(normalise(r["_bare"]), set()).add(r["parent"])
    shared = sorted(b for b, ps in across.items() if len(ps) > 1)
    report.append("bare names in more than one province (info): "
                  + (", ".join(f"{b} ({', '.join(provinces[p]['name'] for p in sorted(across[b]))})"
                               for b in shared) or "none"))
    same_as_prov = sorted(b for b in across if b in norm_names)
    report.append("bare regency names equal to a province name (info): "
                  + (", ".join(same_as_prov) or "none"))
    same_as_alias = sorted(f"{b} ({provinces[alias_owner[b]]['name']})"
                           for b in across if b in alias_owner)
    report.append("bare regency names equal to a province alias (info): "
                  + (", ".join(same_as_alias) or "none"))

    # Regency aliases.
    reg_by_name = {}
    for r in regencies.values():
        if r["name"] in reg_by_name:
            fail(f"regency name {r['name']!r} appears twice")
        reg_by_name[r["name"]] = r
    reg_norm = set()
    for r in regencies.values():
        reg_norm.add(normalise(r["name"]))
        reg_norm.add(normalise(r["_bare"]))
    seen = {}
    for raw, target in REGENCY_ALIASES:
        alias = normalise(raw)
        if target not in reg_by_name:
            fail(f"regency alias {raw!r}: target {target!r} is not a regency in the package")
        if alias in seen and seen[alias] != target:
            fail(f"regency alias {alias!r} is given to both {seen[alias]} and {target}")
        if alias in reg_norm:
            fail(f"regency alias {alias!r} is already a regency name")
        seen[alias] = target
        reg_by_name[target].setdefault("aliases", [])
        if alias not in reg_by_name[target]["aliases"]:
            reg_by_name[target]["aliases"].append(alias)
    report.append(f"regency aliases: {len(seen)} on "
                  f"{sum(1 for r in regencies.values() if 'aliases' in r)} regencies")
    also_prov = sorted(f"{a} ({provinces[alias_owner[a]]['name']})" for a in seen if a in alias_owner)
    report.append("regency aliases that are also province aliases (info): "
                  + (", ".join(also_prov) or "none"))

    # Final rows, sorted by code.
    prov_out = [{"id": p["id"], "name": p["name"], "tz": p["tz"],
                 "utc_offset": p["utc_offset"], "aliases": p["aliases"]}
                for _, p in sorted(provinces.items())]
    reg_out = []
    for _, r in sorted(regencies.items()):
        row = {"id": r["id"], "parent": r["parent"], "name": r["name"]}
        if "aliases" in r:
            row["aliases"] = r["aliases"]
        reg_out.append(row)
    for p in prov_out:
        if p["tz"] not in ("WIB", "WITA", "WIT") or not isinstance(p["utc_offset"], int):
            fail(f"province {p['id']} has no tz/utc_offset")

    # Licence.
    try:
        with open(lic_md, encoding="utf-8") as f:
            licence = f.read()
    except OSError as e:
        fail(f"cannot read the package's data licence {lic_md}: {e}")
    if "Open Database License" not in licence.splitlines()[0] or "10.4 Choice of law" not in licence:
        fail(f"{lic_md} does not look like the full ODbL 1.0 text")
    report.append(f"sha256 {sha256(lic_md)}  data/LICENSE.md")

    return {
        "provinces.json": dump_rows(prov_out),
        "regencies.json": dump_rows(reg_out),
        "LICENSE-ODbL.txt": licence,
        "NOTICE": NOTICE_TEXT.format(version=version),
    }, report


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(os.path.dirname(here), "flows", "data")
    ap = argparse.ArgumentParser(description="Generate flows/data/ region data sets "
                                 "from the unpacked idn-area-data npm package.")
    ap.add_argument("package", help="unpacked package directory (holds package.json and data/)")
    ap.add_argument("--out", default=default_out, help="output directory (default: %(default)s)")
    ap.add_argument("--aliases", default=None,
                    help="province alias TSV (default: OUT/province-aliases.tsv)")
    args = ap.parse_args()
    alias_tsv = args.aliases or os.path.join(args.out, "province-aliases.tsv")

    try:
        files, report = build(args.package, alias_tsv)
    except Fail as e:
        print(f"gen-regions: FAILED: {e}", file=sys.stderr)
        return 1

    os.makedirs(args.out, exist_ok=True)
    for name, text in files.items():
        path = os.path.join(args.out, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
        report.append(f"wrote {path}")
    print("\n".join(report))
    print("gen-regions: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
