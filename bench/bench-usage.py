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


def section(args, sign, verify, sign_ir, verify_ir):
    lines = [SECTION_BEGIN, "",
             "Command: `make bench-usage` (bench/bench-usage.py: %d rounds "
             "of %d one-shot signs per store, %d rounds of `verify -` over "
             "%d tokens; instruction counts from callgrind)." % (
                 args.rounds, args.signs, args.rounds, args.tokens),
             "Machine: %d cores, %s, shared with other work while it ran." % (
                 os.cpu_count(), os.uname().machine),
             "Date: %s." % time.strftime("%Y-%m-%d"), "",
             "Each figure is the cost with recording on divided by the cost "
             "with `usage_counters=0 usage_records=0` (\"off\"), measured in "
             "the same run; 1.00 means no visible cost. Wall-time ratios are "
             "medians over rounds, with the median time in brackets.", "",
             "| measure | off | counters (default) "
             "| counters + per-token records |",
             "|---|---|---|---|"]

    def time_row(label, table):
        lines.append("| %s | %.2f ms | %.3f (%.2f ms) | %.3f (%.2f ms) |" % (
            label, table["off"][1] * 1000, table["counters"][0],
            table["counters"][1] * 1000, table["records"][0],
            table["records"][1] * 1000))

    def count_row(label, counts):
        if not counts or not all(counts.values()):
            return
        lines.append("| %s | %d | %.3f | %.3f |" % (
            label, counts["off"], counts["counters"] / counts["off"],
            counts["records"] / counts["off"]))

    time_row("one-shot `sign`, wall time", sign)
    time_row("`verify -` of %d tokens, wall time" % args.tokens, verify)
    count_row("one-shot `sign`, instructions", sign_ir)
    count_row("`verify -` of %d tokens, instructions" % args.callgrind_tokens,
              verify_ir)
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
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--signs", type=int, default=10,
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

    text = section(args, sign, verify, sign_ir, verify_ir)
    sys.stdout.write(text)
    if args.doc:
        doc_update(args.doc, text)


if __name__ == "__main__":
    main()
