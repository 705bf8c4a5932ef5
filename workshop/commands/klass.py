"""scripts/class up|down|status|serve: a class of students on one cluster (see workshop/cluster/classroom.py).

serve serves the class to browsers: the teacher's page (a link per student, the live board) and each
student's page, the lecture beside a terminal in their namespace (workshop/classweb/).

status prints one row per student: the lecture's Kubernetes steps their namespace shows done, the
pods not ready and why, how long since anything changed there, and the slide most of the class has
reached; --watch refreshes it in place every few seconds."""

import argparse
import sys
import time
from collections.abc import Sequence

from workshop.classweb.board import status_text
from workshop.cli import WorkshopError, run
from workshop.cluster import classroom


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/class", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "down", "status", "serve"))
    parser.add_argument("--students", type=int, help="with up: how many students (namespaces cs198-student-NN)")
    parser.add_argument(
        "--context", help="with up: a cluster of yours (a context in your kubeconfig) instead of the workshop's"
    )
    parser.add_argument(
        "--registry",
        metavar="HOST:PORT",
        help="with up: push the lecture's images to this registry, for a cluster whose nodes map localhost:5001 to it",
    )
    parser.add_argument(
        "--address",
        metavar="ADDR",
        help="with up: the address of this machine students reach the workshop's kind cluster at; with serve: "
        "the address the class's pages are served at (default: this machine's address on its default route)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=classroom.SERVE_PORT,
        help=f"with serve: the TCP port of the class's pages (default {classroom.SERVE_PORT})",
    )
    parser.add_argument(
        "--forget",
        action="store_true",
        help="with down: delete nothing on any cluster and forget the class (its cluster is gone for good)",
    )
    parser.add_argument("--watch", action="store_true", help="with status: refresh every 3 s until Ctrl-C")
    args = parser.parse_args(argv)
    if args.action == "up":
        if args.students is None:
            raise WorkshopError("say how many students: scripts/class up --students N")
        roster = classroom.up(args.students, args.context, registry=args.registry, address=args.address)
        print(f"class ready: {len(roster)} students; kubeconfigs in .workshop/class/ (roster.json lists them)")
    elif args.action == "down":
        print(classroom.down(forget=args.forget))
    elif args.action == "serve":
        from workshop.classweb import serve  # aiohttp: installed by scripts/class for serve only

        serve.serve(args.address, args.port)
    elif not args.watch:
        print(status_text())
    else:
        while True:
            text = status_text()
            sys.stdout.write("\x1b[H\x1b[2J" + text + f"\n(refreshed {time.strftime('%H:%M:%S')}; Ctrl-C stops)\n")
            sys.stdout.flush()
            time.sleep(3)
    return 0


if __name__ == "__main__":
    run(main, "class")
