"""Reads hpdump --json on stdin; prints the name of every function record that has code."""
import json
import sys

for f in json.load(sys.stdin):
    for unit in f['units']:
        for r in unit['records']:
            if r['kind'] == 'function' and 'inlined-away' not in r['flags']:
                print(r['name'])
