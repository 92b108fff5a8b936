#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Measure what usage recording costs `keyrot sign` and `keyrot verify -`.

`make bench-usage` runs this script. It builds three stores holding the same
key under the same kid, differing only in policy:

- off:      usage_counters=0, usage_records=0 (nothing recorded; the
            reference)
- counters: the default (usage_counters=1): one counter upsert per sign, one
            transaction per batch of verifications
- records:  usage_counters=1 and usage_records=1: also one chained audit
            record per token

and reports each as a ratio against "off", measured in the same run:

- wall time of one-shot `keyrot sign` (process start to exit), in rounds
  that run the three stores in a shuffled order, so that a change in
  machine load hits every variant alike; a ratio is the median over rounds;
- wall time of `keyrot verify -` over a batch of tokens, the same way;
- instruction counts from callgrind for one sign and for a small batch,
  which do not depend on the machine's load.

This is a benchmark, not a test: it asserts nothing about the figures.
"""

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

KID = "bench-usage"
AUD = "bench-audience"
SECTION_TITLE = "## Usage recording cost"
SECTION_BEGIN = "<!-- usage-bench:begin: written by `make bench-usage` -->"
SECTION_END = "<!-- usage-bench:end -->"
VARIANTS = {
    "off": ["usage_counters=0", "usage_records=0"],
    "counters": [],
    "records": ["usage_records=1"],
}


def run(argv, stdin=None):
    """Run argv, failing loudly: a broken setup must not yield figures."""
    result = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    if result.returncode != 0:
        sys.exit("bench-usage: %s failed (exit %d): %s" % (
            " ".join(argv[:4]), result.returncode,
            result.stderr.decode(errors="replace").strip()))
    return result.stdout


def make_stores(keyrot, key_pem, workdir):
    stores = {}
    for name, settings in VARIANTS.items():
        path = os.path.join(workdir, name + ".db")
        run([keyrot, "--store", path, "init"])
        run([keyrot, "--store", path, "import", key_pem, "--kid", KID,
             "--activate"])
        if settings:
            run([keyrot, "--store", path, "policy", "set"] + settings)
        stores[name] = path
    return stores


def time_signs(keyrot, store, n):
    argv = [keyrot, "--store", store, "sign", "--aud", AUD]
    start = time.perf_counter()
    for _ in range(n):
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) / n


def time_verify(keyrot, store, batch):
    argv = [keyrot, "--store", store, "verify", "-"]
    start = time.perf_counter()
    subprocess.run(argv, input=batch, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def rounds(measure, stores, n_rounds):
    """Per variant, the list of one measurement per round."""
    times = {name: [] for name in stores}
    for _ in range(n_rounds):
        order = list(stores)
        random.shuffle(order)
        for name in order:
            times[name].append(measure(stores[name]))
    return times


def ratios(times):
    """Median over rounds of variant / off, and the median time itself."""
    out = {}
    for name, values in times.items():
        per_round = [v / off for v, off in zip(values, times["off"])]
        out[name] = (statistics.median(per_round), statistics.median(values))
    return out


def instructions(argv, stdin=None):
    """Instructions executed by argv under callgrind (load-independent)."""
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=" + out.name] + argv,
                       input=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        text = open(out.name).read()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    return int(match.group(1)) if match else None


def section(args, sign, verify, sign_ir, verify_ir, n_tokens):
    lines = [SECTION_BEGIN, "",
             "Command: `make bench-usage` (bench/bench-usage.py: %d rounds "
             "of %d one-shot signs, %d rounds of `verify -` over %d "
             "tokens)." % (args.rounds, args.signs, args.rounds, n_tokens),
             "Machine: %d cores, %s." % (os.cpu_count(), os.uname().machine),
             "Date: %s." % time.strftime("%Y-%m-%d"), "",
             "Each figure is the cost with recording on divided by the cost "
             "with `usage_counters=0 usage_records=0`, measured in the same "
             "run; 1.00 means no visible cost.", "",
             "| what | counters (default) | counters + per-token records |",
             "|---|---|---|"]

    def row(label, table, unit):
        lines.append("| %s | %.3f | %.3f |" % (
            label, table["counters"][0], table["records"][0]))
        lines.append("| %s, median %s (off / counters / records) | %s |"
                     " |" % (label, unit, " / ".join(
                         "%.2f" % (table[n][1] * 1000) for n in VARIANTS)))

    row("one-shot `sign`, wall time", sign, "ms")
    row("`verify -` batch, wall time", verify, "ms")
    if sign_ir and all(sign_ir.values()):
        lines.append("| one-shot `sign`, instructions | %.3f | %.3f |" % (
            sign_ir["counters"] / sign_ir["off"],
            sign_ir["records"] / sign_ir["off"]))
    if verify_ir and all(verify_ir.values()):
        lines.append("| `verify -` of %d tokens, instructions | %.3f |"
                     " %.3f |" % (args.callgrind_tokens,
                                  verify_ir["counters"] / verify_ir["off"],
                                  verify_ir["records"] / verify_ir["off"]))
    lines += ["", SECTION_END]
    return "\n".join(lines) + "\n"


def doc_update(path, text):
    doc = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if SECTION_BEGIN in doc and SECTION_END in doc:
        start = doc.index(SECTION_BEGIN)
        end = doc.index(SECTION_END) + len(SECTION_END) + 1
        doc = doc[:start] + text + doc[end:]
    elif SECTION_TITLE in doc:
        at = doc.index(SECTION_TITLE) + len(SECTION_TITLE) + 1
        doc = doc[:at] + "\n" + text + doc[at:]
    else:
        doc = doc.rstrip("\n") + "\n\n" + SECTION_TITLE + "\n\n" + text
    with open(path + ".tmp", "w") as f:
        f.write(doc)
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keyrot", default="./keyrot")
    parser.add_argument("--srcdir", default=".")
    parser.add_argument("--doc", help="write the section into this file")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--signs", type=int, default=20,
                        help="one-shot signs per round and variant")
    parser.add_argument("--tokens", type=int, default=2000,
                        help="tokens in the verify batch")
    parser.add_argument("--callgrind-tokens", type=int, default=200)
    args = parser.parse_args()

    keyrot = os.path.abspath(args.keyrot)
    key_pem = os.path.join(args.srcdir, "data", "test-rsa2048.pem")
    workdir = tempfile.mkdtemp(prefix="keyrot-bench-usage.")
    try:
        stores = make_stores(keyrot, key_pem, workdir)

        # 100 distinct tokens, valid for an hour, repeated to fill the batch.
        distinct = [run([keyrot, "--store", stores["off"], "sign", "--aud",
                         AUD, "--ttl", "1h"]) for _ in range(100)]
        batch = b"".join(distinct[i % 100] for i in range(args.tokens))
        small = b"".join(distinct[i % 100]
                         for i in range(args.callgrind_tokens))

        sign = ratios(rounds(lambda s: time_signs(keyrot, s, args.signs),
                             stores, args.rounds))
        verify = ratios(rounds(lambda s: time_verify(keyrot, s, batch),
                               stores, args.rounds))
        sign_ir = verify_ir = None
        if shutil.which("valgrind"):
            sign_ir = {n: instructions([keyrot, "--store", s, "sign",
                                        "--aud", AUD])
                       for n, s in stores.items()}
            verify_ir = {n: instructions([keyrot, "--store", s, "verify",
                                          "-"], small)
                         for n, s in stores.items()}
    finally:
        shutil.rmtree(workdir)

    text = section(args, sign, verify, sign_ir, verify_ir, args.tokens)
    sys.stdout.write(text)
    if args.doc:
        doc_update(args.doc, text)


if __name__ == "__main__":
    main()
