"""cgsum.py CG.OUT [BENCH.JSON]: a callgrind profile of parleyd, per delivery.

Prints the instructions (Ir) of the whole instrumented window divided by the calls of the
door's deliver (irc_deliver or plain_deliver: one a delivery) and of hub_say_msg (one a message), then the functions
with the most instructions of their own, per delivery. With BENCH.JSON (parley-bench's
output) it checks the run lost nothing."""
import collections
import json
import re
import sys


def parse(path):
    names, calls, selfc = {}, collections.Counter(), collections.Counter()
    fn = cfn = None
    pending = None
    total = None

    def name(tok):
        m = re.match(r'\((\d+)\)(?: (.*))?', tok)
        if m is None:
            return tok
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names[m.group(1)]

    for line in open(path):
        line = line.rstrip('\n')
        if line.startswith('fn='):
            fn = name(line[3:])
        elif line.startswith('cfn='):
            cfn = name(line[4:])
        elif line.startswith('calls='):
            pending = int(line[6:].split()[0])
        elif line.startswith(('summary:', 'totals:')):
            total = int(line.split()[1])
        elif line and (line[0].isdigit() or line[0] in '+-*'):
            parts = line.split()
            if len(parts) >= 2:
                if pending is not None:
                    calls[cfn] += pending
                    pending = None
                else:
                    selfc[fn] += int(parts[1])
    return total or sum(selfc.values()), calls, selfc


def main():
    total, calls, selfc = parse(sys.argv[1])
    deliveries = calls['irc_deliver'] or calls['plain_deliver']
    messages = calls['hub_say_msg']
    if deliveries == 0 or messages == 0:
        sys.exit('cgsum: no deliveries in the window')
    if len(sys.argv) > 2:
        lines = [l for l in open(sys.argv[2]) if l.startswith('{')]
        if lines:
            r = json.loads(lines[-1])
            print('bench: lost %s duplicated %s errors %s' % (
                r.get('lost'), r.get('duplicated'), r.get('errors')))
    print('Ir %d, deliveries %d, messages %d: %.1f Ir/delivery, %.0f Ir/message' % (
        total, deliveries, messages, total / deliveries, total / messages))
    for f, c in sorted(selfc.items(), key=lambda kv: -kv[1])[:25]:
        print('%9.1f Ir/delivery  %7.3f calls/delivery  %s' % (
            c / deliveries, calls[f] / deliveries, f))


if __name__ == "__main__":
    main()
