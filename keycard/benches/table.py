#!/usr/bin/env python3
"""Prints BENCHMARKS.md's tables from criterion's last run: medians, and ratios within one group.

    python3 benches/table.py            # after `cargo bench --bench sign_verify` and the peers run

Reads target/criterion (sign_verify) and benches/peers/target/criterion (peers); standard library
only. A missing benchmark prints as `-`.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def medians(criterion_dir):
    """{(group, function): median in ns} for every benchmark in the directory."""
    found = {}
    for meta in pathlib.Path(criterion_dir).glob("**/new/benchmark.json"):
        info = json.loads(meta.read_text())
        estimates = json.loads((meta.parent / "estimates.json").read_text())
        found[(info["group_id"], info["function_id"])] = estimates["median"]["point_estimate"]
    return found


def show(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs" if ns < 1e4 else f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}×"


def main_tables(m):
    print("| algorithm | sign: keycard | ring | ours÷ring | verify: keycard `Claims` | ring "
          "| ours÷ring | keycard borrowed | ours÷ring |")
    print("|---|---|---|---|---|---|---|---|---|")
    for alg in ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]:
        sk, sr = m.get((alg, "sign/keycard")), m.get((alg, "sign/ring"))
        vk, vr = m.get((alg, "verify/keycard")), m.get((alg, "verify/ring"))
        vb = m.get((alg, "verify/keycard borrowed struct"))
        print(f"| {alg} | {show(sk)} | {show(sr)} | {ratio(sk, sr)} "
              f"| {show(vk)} | {show(vr)} | {ratio(vk, vr)} | {show(vb)} | {ratio(vb, vr)} |")
    print()

    ring = m.get(("HS256", "verify/ring"))
    print("| HS256 verify into | keycard | ÷ ring HMAC verify |")
    print("|---|---|---|")
    for name, fid in [("`Claims` (`verify`)", "verify/keycard"),
                      ("owned struct (`verify`)", "verify/keycard owned struct"),
                      ("borrowed struct (`verify_borrowed`, reused buffer)",
                       "verify/keycard borrowed struct")]:
        t = m.get(("HS256", fid))
        print(f"| {name} | {show(t)} | {ratio(t, ring)} |")
    print()

    group = "reject (HS256)"
    ok = m.get((group, "accept/keycard"))
    ring = m.get((group, "hmac verify/ring"))
    print("| HS256 token | keycard | ÷ accepting it | ÷ ring HMAC verify |")
    print("|---|---|---|---|")
    for fid in ["accept/keycard", "bad signature", "expired", "oversized 9 KiB",
                "malformed header"]:
        t = m.get((group, fid))
        name = fid.replace("/keycard", "")
        print(f"| {name} | {show(t)} | {ratio(t, ok)} | {ratio(t, ring)} |")
    print()

    group = "floor (HS256 verify parts)"
    print("| part of an HS256 verify | time |")
    print("|---|---|")
    for fid in ["hmac verify/ring", "base64url decode 3 parts", "header json",
                "claims json borrowed", "claims json Claims"]:
        print(f"| {fid} | {show(m.get((group, fid)))} |")
    print()

    group = "threads (HS256 verify)"
    print("| shared across threads | 1 thread (per op) | 2 threads (per op) | throughput 2÷1 |")
    print("|---|---|---|---|")
    for name in ["Claims", "borrowed", "ring hmac"]:
        one, two = m.get((group, f"{name}/1 thread")), m.get((group, f"{name}/2 thread"))
        print(f"| {name} | {show(one)} | {show(two)} | {ratio(one, two)} |")
    print()


def peer_table(m):
    print("| operation | keycard | ring | ours÷ring | jsonwebtoken | ÷ours | jwt-simple | ÷ours |")
    print("|---|---|---|---|---|---|---|---|")
    for op in ["HS256 verify+decode", "HS256 sign", "RS256 sign", "RS256 verify+decode",
               "ES256 sign", "ES256 verify+decode"]:
        k, r = m.get((op, "keycard")), m.get((op, "ring"))
        j, s = m.get((op, "jsonwebtoken")), m.get((op, "jwt-simple"))
        print(f"| {op} | {show(k)} | {show(r)} | {ratio(k, r)} | {show(j)} | {ratio(j, k)} "
              f"| {show(s)} | {ratio(s, k)} |")
    print()


if __name__ == "__main__":
    main = medians(ROOT / "target" / "criterion")
    peers = medians(ROOT / "benches" / "peers" / "target" / "criterion")
    if not main and not peers:
        sys.exit("no criterion results: run the benches first")
    if main:
        main_tables(main)
    if peers:
        peer_table(peers)
