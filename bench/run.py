#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Run keyrot's benchmark and write its section of docs/BENCHMARKS.md.

`make bench` runs this script. Every figure is a ratio against a reference
measured in the same run, because the machines are shared and noisy:

- one-shot `keyrot sign` against bench/floor-sign (start, load the key, sign
  once with Nettle) and against other one-shot signers: `jose jws sig`, a
  PyJWT one-liner and node's jsonwebtoken;
- in-process kr_jws_sign against raw Nettle rsa_sha256_sign_digest_tr, on
  one thread and on two at once (bench/bench-lib);
- `keyrot verify -` over a batch of tokens against bench/floor-verify;
- the same with a store of many keys and audit records (bench/bench-store).

Process timings come from hyperfine, run in several rounds, so that a
change in machine load during the run hits every command alike. A figure
is the median of all runs of a command. Instruction counts from callgrind
complement them, because they do not depend on the load.

Environment:
  KR_BENCH_SCALE   multiplies every run count (default 1)
  KR_BENCH_KEYS    keys in the large store (default 10000)
  KR_BENCH_AUDIT   audit records in the large store (default 1000000)
  KR_BENCH_TOKENS  tokens in the verification batch (default 2000)
  KR_BENCH_NODE    0 skips the npm install and the node signer
  KR_BENCH_CACHE   where the large store and node packages are kept
                   (default bench/cache in the build directory)
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

KID = "bench-2026"
AUD = "bench-audience"
TOKEN_TTL = 300
ROUNDS = 10
# Runs of each command per round, times KR_BENCH_SCALE.
ONE_SHOT_RUNS = 6
VERIFY_RUNS = 2
SECTION_BEGIN = "<!-- bench:begin: written by `make bench` (bench/run.py) -->"
SECTION_END = "<!-- bench:end -->"
PEER_PYTHON = "/usr/bin/python3"
JSONWEBTOKEN_SPEC = "jsonwebtoken@9"

PYJWT_ONE_LINER = (
    "import sys, time, jwt; t = int(time.time()); "
    "print(jwt.encode({'aud': sys.argv[3], 'iat': t, 'exp': t + %d}, "
    "open(sys.argv[1]).read(), algorithm='RS256', "
    "headers={'kid': sys.argv[2]}))" % TOKEN_TTL
)

PEM_TO_JWK = (
    "import json, sys; "
    "from cryptography.hazmat.primitives.serialization import "
    "load_pem_private_key; "
    "from jwt.algorithms import RSAAlgorithm; "
    "key = load_pem_private_key(open(sys.argv[1], 'rb').read(), None); "
    "jwk = json.loads(RSAAlgorithm.to_jwk(key)); "
    "jwk.update(kid=sys.argv[2], alg='RS256'); "
    "print(json.dumps(jwk))"
)

NODE_SIGNER = """\
const jwt = require(process.argv[2]);
const key = require('fs').readFileSync(process.argv[3]);
const token = jwt.sign({aud: process.argv[5]}, key,
    {algorithm: 'RS256', keyid: process.argv[4], expiresIn: %d});
process.stdout.write(token + '\\n');
""" % TOKEN_TTL


def log(message):
    print("bench: " + message, file=sys.stderr, flush=True)


def env_int(name, default):
    text = os.environ.get(name, "")
    if text == "":
        return default
    value = int(text)
    if value < 0:
        raise SystemExit("bench: %s must not be negative" % name)
    return value


def run(args, **kwargs):
    """Run a command, fail the benchmark on a non-zero exit."""
    kwargs.setdefault("check", True)
    return subprocess.run(args, **kwargs)


def output(args, **kwargs):
    return run(args, capture_output=True, text=True, **kwargs).stdout


def tool_version(args):
    try:
        result = subprocess.run(args, capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else None


class Bench:
    def __init__(self, opts):
        self.builddir = os.path.abspath(opts.builddir)
        self.srcdir = os.path.abspath(opts.srcdir)
        self.doc = os.path.abspath(opts.doc)
        self.scale = max(1, env_int("KR_BENCH_SCALE", 1))
        self.n_keys = max(1, env_int("KR_BENCH_KEYS", 10000))
        self.n_audit = env_int("KR_BENCH_AUDIT", 1000000)
        self.n_tokens = max(1, env_int("KR_BENCH_TOKENS", 2000))
        self.use_node = env_int("KR_BENCH_NODE", 1) != 0
        self.cache = os.path.abspath(os.environ.get(
            "KR_BENCH_CACHE", os.path.join(self.builddir, "bench", "cache")))
        self.keyrot = os.path.join(self.builddir, "keyrot")
        self.bin = {name: os.path.join(self.builddir, "bench", name)
                    for name in ("bench-lib", "bench-store", "floor-sign",
                                 "floor-verify")}
        self.pem = os.path.join(self.srcdir, "data", "test-rsa2048.pem")
        self.work = tempfile.mkdtemp(prefix="keyrot-bench-")
        self.notes = []
        self.results = {}

    def path(self, name):
        return os.path.join(self.work, name)

    # --- setup ------------------------------------------------------------

    def keyrot_args(self, store, *args):
        return [self.keyrot, "--store", store] + list(args)

    def small_store(self):
        store = self.path("small.db")
        run(self.keyrot_args(store, "init"), capture_output=True)
        run(self.keyrot_args(store, "import", self.pem, "--kid", KID,
                             "--activate"), capture_output=True)
        return store

    def large_store(self):
        """Build the large store once per recipe and copy it for the run.

        Building it takes minutes, because every rotation costs keyrot a
        scan of the keys table, so the result is cached. The cache is named
        after the sizes and BENCH_STORE_RECIPE in bench-store.c, not after
        the library. A store cached by an older keyrot is migrated when
        keyrot opens the copy, as a user's store would be.
        """
        os.makedirs(self.cache, exist_ok=True)
        with open(os.path.join(self.srcdir, "bench", "bench-store.c")) as f:
            recipe = re.search(r"^#define BENCH_STORE_RECIPE (\d+)",
                               f.read(), re.M)[1]
        cached = os.path.join(self.cache, "store-%d-keys-%d-audit-r%s.db"
                              % (self.n_keys, self.n_audit, recipe))
        if not os.path.exists(cached):
            log("building the large store (%d keys, %d audit records) into "
                "%s; later runs reuse it" % (self.n_keys, self.n_audit,
                                              self.cache))
            partial = cached + ".partial"
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(partial + suffix):
                    os.unlink(partial + suffix)
            started = time.monotonic()
            run([self.bin["bench-store"], partial, str(self.n_keys),
                 str(self.n_audit), self.pem, KID])
            self.results["large_store_build_s"] = time.monotonic() - started
            os.replace(partial, cached)
        store = self.path("large.db")
        shutil.copyfile(cached, store)
        os.chmod(store, 0o600)
        return store

    def jose_key(self):
        jwk = self.path("key.jwk")
        text = output([PEER_PYTHON, "-c", PEM_TO_JWK, self.pem, KID])
        fd = os.open(jwk, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return jwk

    def node_module(self):
        """Return the jsonwebtoken module path, installing it if needed."""
        if not self.use_node:
            self.notes.append("node jsonwebtoken, because KR_BENCH_NODE=0.")
            return None
        if shutil.which("node") is None or shutil.which("npm") is None:
            self.notes.append("node jsonwebtoken, because node or npm is "
                              "not installed.")
            return None
        prefix = os.path.join(self.cache, "node")
        module = os.path.join(prefix, "node_modules", "jsonwebtoken")
        if not os.path.isdir(module):
            log("installing %s with npm into %s" % (JSONWEBTOKEN_SPEC, prefix))
            os.makedirs(prefix, exist_ok=True)
            try:
                result = subprocess.run(
                    ["npm", "install", "--prefix", prefix, "--no-audit",
                     "--no-fund", "--no-save", JSONWEBTOKEN_SPEC],
                    capture_output=True, text=True, timeout=300)
            except subprocess.TimeoutExpired:
                result = None
            if result is None or result.returncode != 0:
                reason = ("timed out" if result is None else
                          (result.stderr.strip().splitlines() or ["?"])[-1])
                self.notes.append("node jsonwebtoken, because npm install "
                                  "failed: %s." % reason)
                return None
        with open(os.path.join(module, "package.json")) as f:
            self.results["jsonwebtoken_version"] = json.load(f)["version"]
        return module

    def signers(self, small):
        """Return {name: argv} of the one-shot signers, each checked."""
        claims = self.path("claims.json")
        now = int(time.time())
        with open(claims, "w") as f:
            json.dump({"aud": AUD, "iat": now, "exp": now + TOKEN_TTL}, f)
        header = json.dumps({"protected": {"alg": "RS256", "typ": "JWT",
                                           "kid": KID}})
        signers = {
            "floor-sign": [self.bin["floor-sign"], self.pem, KID, AUD],
            "keyrot sign": self.keyrot_args(small, "sign", "--aud", AUD),
        }
        if shutil.which("jose"):
            signers["jose jws sig"] = ["jose", "jws", "sig", "-I", claims,
                                       "-k", self.jose_key(), "-s", header,
                                       "-c", "-o", "-"]
        else:
            self.notes.append("jose, because the jose command is not "
                              "installed (Debian package jose).")
        if subprocess.run([PEER_PYTHON, "-c", "import jwt"],
                          capture_output=True).returncode == 0:
            signers["PyJWT"] = [PEER_PYTHON, "-c", PYJWT_ONE_LINER, self.pem,
                                KID, AUD]
        else:
            self.notes.append("PyJWT, because %s cannot import jwt (Debian "
                              "package python3-jwt)." % PEER_PYTHON)
        module = self.node_module()
        if module is not None:
            script = self.path("sign.js")
            with open(script, "w") as f:
                f.write(NODE_SIGNER)
            signers["node jsonwebtoken"] = ["node", script, module, self.pem,
                                            KID, AUD]

        # A signer whose token keyrot rejects would be timed for nothing.
        for name, argv in signers.items():
            token = output(argv).strip()
            run(self.keyrot_args(small, "verify", "--aud", AUD, token),
                capture_output=True)
        return signers

    # --- measuring ----------------------------------------------------------

    def hyperfine(self, commands, runs, stdin=None, ignore_failure=False):
        """Time {name: argv} in ROUNDS rounds; return {name: median s}."""
        times = {name: [] for name in commands}
        for round_number in range(ROUNDS):
            export = self.path("hyperfine-%d.json" % round_number)
            args = ["hyperfine", "--style", "none", "--warmup", "1",
                    "--runs", str(runs), "--export-json", export]
            if ignore_failure:
                args.append("--ignore-failure")
            names = list(commands)
            if round_number % 2:
                names.reverse()
            for name in names:
                line = " ".join(shlex.quote(a) for a in commands[name])
                if stdin is not None:
                    line += " < " + shlex.quote(stdin)
                args += ["--command-name", name, line]
            if stdin is None:
                args.insert(1, "--shell=none")
            run(args, capture_output=True)
            with open(export) as f:
                for result in json.load(f)["results"]:
                    times[result["command"]] += result["times"]
        return {name: statistics.median(t) for name, t in times.items()}

    def instructions(self, argv):
        """Count the instructions of one run under callgrind."""
        if shutil.which("valgrind") is None:
            return None, None
        out = self.path("callgrind.out")
        run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
            + argv, capture_output=True)
        with open(out) as f:
            total = int(re.search(r"^summary: (\d+)", f.read(), re.M)[1])
        return total, out

    def sign_breakdown(self, callgrind_out):
        """Inclusive instructions of the main steps of `keyrot sign`.

        callgrind_annotate lists a function once per source file that
        contributed code to it (inlined headers), so each function counts
        with its largest line.
        """
        text = output(["callgrind_annotate", "--inclusive=yes", "--auto=no",
                       "--threshold=100", callgrind_out])
        inclusive = {}
        for line in text.splitlines():
            m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+\S*?:([\w.']+)", line)
            if m:
                name, count = m[2], int(m[1].replace(",", ""))
                inclusive[name] = max(count, inclusive.get(name, 0))
        steps = [
            ("program start: dynamic loader, library constructors",
             ("_dl_start", "_dl_init")),
            ("open the store (SQLite open, schema check)",
             ("kr_store_open",)),
            ("read the policy and the active key",
             ("kr_store_policy_get", "kr_store_active_get")),
            ("load the private key (PKCS#8 parse, checks)",
             ("kr_store_key_load",)),
            ("sign (JSON, base64url, SHA-256, RSA)", ("kr_jws_sign",)),
            ("of which the RSA operation",
             ("nettle_rsa_sha256_sign_digest_tr",)),
            ("record usage", ("usage_record",)),
            ("close the store", ("kr_store_close",)),
        ]
        return [(label, sum(inclusive.get(n, 0) for n in names))
                for label, names in steps
                if any(n in inclusive for n in names)]

    def one_shot(self, signers, large):
        """Time the one-shot signers, and keyrot on the large store."""
        log("timing one-shot signers")
        commands = dict(signers)
        commands["keyrot sign, large store"] = self.keyrot_args(
            large, "sign", "--aud", AUD)
        self.results["one_shot"] = self.hyperfine(
            commands, ONE_SHOT_RUNS * self.scale)

    def start_costs(self, small):
        """Time the parts of a one-shot sign that need no signature.

        floor-sign without arguments only starts and prints its usage.
        `keyrot --version` starts keyrot, which loads its libraries and
        runs their constructors, and exits. `keyrot list` also opens the
        store and reads it. All are timed in one group with both signers,
        so that differences between them are meaningful.
        """
        log("timing program start and store open")
        commands = {
            "floor-sign, start only": [self.bin["floor-sign"]],
            "floor-sign": [self.bin["floor-sign"], self.pem, KID, AUD],
            "keyrot --version": [self.keyrot, "--version"],
            "keyrot list": self.keyrot_args(small, "list"),
            "keyrot sign": self.keyrot_args(small, "sign", "--aud", AUD),
        }
        self.results["start_costs"] = self.hyperfine(
            commands, ONE_SHOT_RUNS * self.scale, ignore_failure=True)

    def lib_sign(self, store, label):
        log("timing in-process signing (%s)" % label)
        text = output([self.bin["bench-lib"], "sign", store, str(self.scale)])
        figures = {}
        for line in text.splitlines():
            fields = dict(f.split("=", 1) for f in line.split()[1:])
            figures[int(fields["threads"])] = fields
        self.results["lib_sign_" + label] = figures

    def verify_batch(self, small, large):
        """Time `keyrot verify -` on both stores against floor-verify.

        Both stores have the same active key under the same kid, so one
        batch of tokens serves all three commands.
        """
        log("timing batch verification of %d tokens" % self.n_tokens)
        now = int(time.time())
        tokens = self.path("tokens.txt")
        with open(tokens, "w") as f:
            run([self.bin["bench-lib"], "tokens", small, str(self.n_tokens),
                 AUD, str(now)], stdout=f)
        commands = {
            "floor-verify": [self.bin["floor-verify"], self.pem],
            "keyrot verify -": self.keyrot_args(small, "--now", str(now),
                                                "verify", "--aud", AUD, "-"),
            "keyrot verify -, large store": self.keyrot_args(
                large, "--now", str(now), "verify", "--aud", AUD, "-"),
        }
        # Each must accept every token, that is exit 0.
        for argv in commands.values():
            with open(tokens) as f:
                run(argv, stdin=f, stdout=subprocess.DEVNULL)
        self.results["verify"] = self.hyperfine(
            commands, VERIFY_RUNS * self.scale, stdin=tokens)

    def callgrind(self, small, large):
        if shutil.which("valgrind") is None:
            self.notes.append("instruction counts, because valgrind is not "
                              "installed.")
            return
        log("counting instructions with callgrind")
        floor, _ = self.instructions([self.bin["floor-sign"], self.pem, KID,
                                      AUD])
        counts = {"floor-sign": floor}
        for label, store in (("small", small), ("large", large)):
            total, out = self.instructions(
                self.keyrot_args(store, "sign", "--aud", AUD))
            counts["keyrot sign, " + label] = total
            if label == "small":
                self.results["breakdown"] = self.sign_breakdown(out)
        self.results["instructions"] = counts

    # --- reporting ----------------------------------------------------------

    def machine(self):
        model = "unknown"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        commit = subprocess.run(["git", "-C", self.srcdir, "describe",
                                 "--always", "--dirty"], capture_output=True,
                                text=True).stdout.strip() or "unknown"
        return {
            "nproc": os.cpu_count(),
            "cpu": model,
            "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc)
                    .strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit,
        }

    def command_line(self):
        names = ("KR_BENCH_SCALE", "KR_BENCH_KEYS", "KR_BENCH_AUDIT",
                 "KR_BENCH_TOKENS", "KR_BENCH_NODE")
        prefix = " ".join("%s=%s" % (n, shlex.quote(os.environ[n]))
                          for n in names if os.environ.get(n))
        return (prefix + " make bench").strip()

    def report(self):
        r = self.results
        m = self.machine()
        lines = [
            SECTION_BEGIN,
            "## Signing and verification speed",
            "",
            "Produced by `%s` on %s, keyrot %s." % (self.command_line(),
                                                   m["date"], m["commit"]),
            "Machine: %s, %d cores (`nproc`), Linux %s. The machine is shared,"
            " so absolute times drift from run to run; the ratios, each taken"
            " within one run, are the figures to compare."
            % (m["cpu"], m["nproc"], m["kernel"]),
            "",
            "Tools: %s." % "; ".join(v for v in (
                tool_version(["hyperfine", "--version"]),
                tool_version(["jose", "--version"]) and
                "jose " + tool_version(["dpkg-query", "-W", "-f",
                                        "${Version}", "jose"]),
                "PyJWT " + (tool_version([PEER_PYTHON, "-c",
                                          "import jwt; print(jwt.__version__)"])
                            or "missing"),
                r.get("jsonwebtoken_version") and
                "node " + tool_version(["node", "--version"])
                + ", jsonwebtoken " + r["jsonwebtoken_version"],
                tool_version(["valgrind", "--version"]),
            ) if v),
            "",
        ]
        lines += self.report_one_shot()
        lines += self.report_lib()
        lines += self.report_verify()
        lines += self.report_instructions()
        lines += self.report_method()
        lines.append(SECTION_END)
        return "\n".join(lines) + "\n"

    def report_one_shot(self):
        times = self.results["one_shot"]
        floor, keyrot = times["floor-sign"], times["keyrot sign"]
        large = times["keyrot sign, large store"]
        lines = [
            "### One-shot signing",
            "",
            "One process per token: start, open the store, load the key, sign,"
            " record usage, print. Median of %d runs per command."
            % (ROUNDS * ONE_SHOT_RUNS * self.scale),
            "",
            "| signer | median | × floor-sign | × keyrot sign |",
            "|---|---:|---:|---:|",
        ]
        for name, t in times.items():
            lines.append("| %s | %.2f ms | %.2f | %.2f |"
                         % (name, t * 1e3, t / floor, t / keyrot))
        lines += [
            "",
            "The large store holds %d keys and %d audit records; there keyrot"
            " sign takes %.2f times as long as with the one-key store."
            % (self.n_keys, self.n_audit, large / keyrot),
            "",
        ]
        if self.notes:
            lines += ["Not measured: " + " ".join(self.notes), ""]
        lines += self.report_start_costs()
        return lines

    def report_start_costs(self):
        c = self.results["start_costs"]
        rsa = c["floor-sign"] - c["floor-sign, start only"]
        rows = [
            ("floor-sign: start only (usage message)",
             c["floor-sign, start only"]),
            ("floor-sign: start, load the key, sign", c["floor-sign"]),
            ("keyrot --version: start only", c["keyrot --version"]),
            ("keyrot list: start, open the store, read the keys",
             c["keyrot list"]),
            ("keyrot sign", c["keyrot sign"]),
        ]
        lines = [
            "Where the time of a one-shot sign goes (another group, same"
            " run; medians):",
            "",
            "| command | median |",
            "|---|---:|",
        ]
        lines += ["| %s | %.2f ms |" % (label, t * 1e3) for label, t in rows]
        lines += [
            "",
            "Read as differences: keyrot starts %.2f ms slower than"
            " floor-sign, because it loads GnuTLS, SQLite, jansson and their"
            " dependencies and runs their constructors. Loading the key and"
            " signing costs floor-sign %.2f ms. keyrot sign spends %.2f ms"
            " beyond its start and that signing cost: opening and reading"
            " the store, its own key loading, and the usage record."
            % ((c["keyrot --version"] - c["floor-sign, start only"]) * 1e3,
               rsa * 1e3,
               (c["keyrot sign"] - c["keyrot --version"] - rsa) * 1e3),
            "",
        ]
        return lines

    def report_lib(self):
        small = self.results["lib_sign_small"]
        lines = [
            "### In-process signing",
            "",
            "kr_jws_sign on a loaded key (header and claims JSON, base64url,"
            " SHA-256, RSA) against raw Nettle rsa_sha256_sign_digest_tr on"
            " the same key numbers. Time per signature; with two threads,"
            " wall time divided by the signatures of both. In each of %s"
            " rounds both sides sign %s times per thread, in alternating"
            " blocks of 10; each figure is the median over rounds, the ratio"
            " too." % (small[1]["rounds"], small[1]["signs"]),
            "",
            "| store | threads | kr_jws_sign | Nettle | ratio |",
            "|---|---:|---:|---:|---:|",
        ]
        for label in ("small", "large"):
            for threads, f in sorted(self.results["lib_sign_" + label].items()):
                lines.append("| %s | %d | %s µs | %s µs | %s |"
                             % (label, threads, f["keyrot_us"],
                                f["nettle_us"], f["ratio"]))
        lines += [
            "",
            "Signatures per second with two threads, relative to one:"
            " keyrot %.2f, Nettle %.2f. This stays below 2 while other work"
            " shares the two cores; the ratios in the table compare keyrot"
            " and Nettle under the same load."
            % (float(small[1]["keyrot_us"]) / float(small[2]["keyrot_us"]),
               float(small[1]["nettle_us"]) / float(small[2]["nettle_us"])),
            "",
        ]
        return lines

    def report_verify(self):
        times = self.results["verify"]
        floor = times["floor-verify"]
        lines = [
            "### Batch verification",
            "",
            "`keyrot --now T verify --aud A -` over %d valid tokens, one per"
            " line (a shell redirects the file, and hyperfine subtracts the"
            " shell's start), against floor-verify, which only checks each"
            " signature with rsa_sha256_verify_digest. Median of %d runs."
            % (self.n_tokens, ROUNDS * VERIFY_RUNS * self.scale),
            "",
            "| verifier | median | × floor-verify | per token |",
            "|---|---:|---:|---:|",
        ]
        for name, t in times.items():
            lines.append("| %s | %.1f ms | %.2f | %.1f µs |"
                         % (name, t * 1e3, t / floor,
                            t / self.n_tokens * 1e6))
        lines.append("")
        return lines

    def report_instructions(self):
        counts = self.results.get("instructions")
        if not counts:
            return []
        floor = counts["floor-sign"]
        lines = [
            "### Instructions (callgrind)",
            "",
            "One run each; the counts do not depend on the machine's load."
            " RSA blinding draws random numbers, so they vary by a few"
            " thousandths from run to run.",
            "",
            "| command | instructions | × floor-sign |",
            "|---|---:|---:|",
        ]
        for name, total in counts.items():
            lines.append("| %s | %s | %.2f |" % (name, format(total, ","),
                                                  total / floor))
        lines += [
            "",
            "Where `keyrot sign` spends them (small store, inclusive counts;"
            " the kernel's work, such as mapping libraries and syncing the"
            " store, is not counted):",
            "",
            "| step | instructions | share |",
            "|---|---:|---:|",
        ]
        total = counts["keyrot sign, small"]
        for label, n in self.results["breakdown"]:
            lines.append("| %s | %s | %.1f%% |" % (label, format(n, ","),
                                                   100 * n / total))
        lines.append("")
        return lines

    def report_method(self):
        built = self.results.get("large_store_build_s")
        return [
            "### How the figures are made",
            "",
            "- The key is `data/test-rsa2048.pem` (RSA 2048), imported as the"
            " active key; every signer signs `{\"aud\", \"iat\", \"exp\"}`"
            " with header `{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\"}`, and"
            " each signer's token is checked with `keyrot verify` before it"
            " is timed.",
            "- floor-sign and floor-verify (bench/) link Nettle and GMP only."
            " jose signs a claims file written before the run, the others"
            " read the clock. The PyJWT one-liner runs under %s; node's"
            " jsonwebtoken is installed with npm into the cache directory."
            % PEER_PYTHON,
            "- Process timings: hyperfine, %d rounds that alternate the"
            " command order, one warm-up run per command and round; the"
            " median over all rounds. `KR_BENCH_SCALE=N make bench` runs N"
            " times as many." % ROUNDS,
            "- The large store is built by bench/bench-store through the"
            " library's own functions: every key is added, activated and"
            " retired in turn (one simulated rotation an hour), the test key"
            " is activated last, then policy_set records restating the"
            " default leeway fill the audit log to its size. Every audit"
            " record is chained by kr_store_audit_append, so the chain is"
            " valid. The generated keys are real RSA keys built from pairs"
            " of a pool of 1024-bit primes (fast to make, weak by"
            " construction). Building it takes minutes (each rotation makes"
            " keyrot scan the keys table), so it is cached under"
            " bench/cache/ and rebuilt only when the sizes or"
            " BENCH_STORE_RECIPE in bench-store.c change%s. A store cached"
            " by an older keyrot is migrated when the copy is first opened."
            % ("; this run rebuilt it in %.0f s" % built if built else ""),
            "- Tokens for batch verification are signed in-process by"
            " bench-lib with the active key, each with its own `jti`.",
            "",
        ]

    def write_doc(self, section):
        text = ""
        if os.path.exists(self.doc):
            with open(self.doc) as f:
                text = f.read()
        if SECTION_BEGIN in text and SECTION_END in text:
            head, rest = text.split(SECTION_BEGIN, 1)
            tail = rest.split(SECTION_END, 1)[1].lstrip("\n")
            text = head + section + ("\n" + tail if tail else "")
        elif text:
            text = text.rstrip("\n") + "\n\n" + section
        else:
            text = "# Benchmarks\n\n" + section
        tmp = self.doc + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.doc)

    def main(self):
        try:
            if shutil.which("hyperfine") is None:
                raise SystemExit("bench: hyperfine is not installed (Debian "
                                 "package hyperfine)")
            for program in [self.keyrot] + list(self.bin.values()):
                if not os.access(program, os.X_OK):
                    raise SystemExit("bench: %s is missing; run `make bench`,"
                                     " which builds it" % program)
            small = self.small_store()
            large = self.large_store()
            signers = self.signers(small)
            self.one_shot(signers, large)
            self.start_costs(small)
            self.lib_sign(small, "small")
            self.lib_sign(large, "large")
            self.verify_batch(small, large)
            self.callgrind(small, large)
            section = self.report()
            self.write_doc(section)
            sys.stdout.write(section)
            log("wrote %s" % self.doc)
        finally:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builddir", default=".")
    parser.add_argument("--srcdir", default=".")
    parser.add_argument("--doc", default="docs/BENCHMARKS.md")
    try:
        Bench(parser.parse_args()).main()
    except subprocess.CalledProcessError as e:
        stderr = e.stderr or ""
        if isinstance(stderr, bytes):
            stderr = stderr.decode(errors="replace")
        detail = stderr.strip().splitlines()
        raise SystemExit("bench: %s failed with exit status %d%s"
                         % (" ".join(map(str, e.cmd)), e.returncode,
                            ": " + detail[-1] if detail else ""))


if __name__ == "__main__":
    main()
