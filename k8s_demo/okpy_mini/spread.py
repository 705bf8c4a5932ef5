"""What a Service does, seen from inside the cluster (the deck runs it in a worker pod):

    python -m okpy_mini.spread ok-web 20

looks the Service's name up in cluster DNS, then asks http://NAME/status that many times, each on a
new connection, and counts which pod answered."""
import collections
import json
import socket
import sys
import urllib.error
import urllib.request

MAX_TIMES = 200


def spread(name: str, times: int) -> list[str]:
    lines = [f"{name} is {socket.gethostbyname(name.partition(':')[0])}"]  # NAME, or NAME:PORT
    answered = collections.Counter()
    for _ in range(times):
        with urllib.request.urlopen(f"http://{name}/status", timeout=5) as response:
            answered[json.load(response)["pod"]] += 1
    lines += [f"{pod} answered {count} of {times}" for pod, count in answered.items()]
    return lines


def main(argv: list[str]) -> int:
    usage = f"usage: python -m okpy_mini.spread SERVICE TIMES (TIMES a whole number from 1 to {MAX_TIMES})"
    if len(argv) != 2 or not argv[1].isdigit() or not 1 <= int(argv[1]) <= MAX_TIMES:
        print(usage, file=sys.stderr)
        return 2
    try:
        for line in spread(argv[0], int(argv[1])):
            print(line, flush=True)
    except (OSError, urllib.error.URLError, ValueError, KeyError) as error:
        print(f"spread: asking {argv[0]} failed: {error}; is the Service there and one of its pods ready?",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
