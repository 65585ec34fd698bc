#!/usr/bin/env python3
"""fpcmp.py OLD NEW: compares the fingerprints hpdump reports for two builds of the same code.

Prints one line per record, sorted by name: "same NAME", "changed NAME", "old-only NAME" or
"new-only NAME"; with --layout it compares layout fingerprints instead.  A function inlined
away in both builds has no code: its source fingerprint is compared.  A test helper that
lets lit tests state "this edit changes exactly that function"."""
import argparse
import json
import os
import subprocess
import sys


def records(hpdump, path):
    out = subprocess.run([hpdump, '--json', path], check=True, capture_output=True, text=True).stdout
    recs = {}
    for f in json.loads(out):
        for unit in f['units']:
            for r in unit['records']:
                recs[r['name']] = r
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('old')
    ap.add_argument('new')
    ap.add_argument('--layout', action='store_true', help='compare layout fingerprints')
    ap.add_argument('--hpdump', default='hpdump')
    a = ap.parse_args()
    old, new = records(a.hpdump, a.old), records(a.hpdump, a.new)
    key = 'layout_fingerprint' if a.layout else 'fingerprint'
    for name in sorted(set(old) | set(new)):
        if name not in new:
            print('old-only', name)
        elif name not in old:
            print('new-only', name)
        else:
            k = key
            if not a.layout and all('inlined-away' in r['flags'] for r in (old[name], new[name])):
                k = 'source_fingerprint'
            print('same' if old[name][k] == new[name][k] else 'changed', name)


if __name__ == '__main__':
    sys.exit(main())
