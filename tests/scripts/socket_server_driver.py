"""Starts PyExpLabSys socket servers with fixed contents and serves until stdin closes.

Whichever ``PyExpLabSys`` is importable is used: this package's, or an upstream
checkout's (``PYTHONPATH``), so that the differential test can put the same questions to
both. Prints the ports (and, under "layout", the keys of each one's DATA entry) as one JSON
line on stdout once serving; given a port as its argument,
first sends three LiveSocket messages to that port. ``--roomy`` (this package only) lifts
the flood limits, for the benchmark.
"""

import json
import socket
import sys

from PyExpLabSys.common.sockets import DATA, DataPullSocket, DataPushSocket, DateDataPullSocket, LiveSocket


def free_port():
    # Upstream keys its DATA by the port asked for, so it needs a fixed one: a free one.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def callback(data):
    if "raise" in data:
        raise ValueError(data["raise"])
    return data.get("ret")


def extra():
    """With --roomy (this package only): limits far above the benchmark's rates."""
    if "--roomy" not in sys.argv:
        return {}
    from PyExpLabSys.udp.limits import DatagramLimits

    big = 10.0**9
    return {
        "limits": DatagramLimits(per_source_rate=big, per_source_burst=big, total_rate=big, total_burst=big)
    }


def main():
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    kw = extra()
    ports = {}
    date = DateDataPullSocket(
        "moon laser",
        ["moon_laser_power", "moon_laser_duration", "old"],
        port=free_port(),
        timeouts=[None, 5, 1.0],
        **kw,
    )
    date.set_point("moon_laser_power", (1414150015.697648, 47.0))
    date.set_point("moon_laser_duration", (4102444800.0, 42))  # 2100: never older than 5 s
    date.set_point("old", (1000.0, 1.5))
    xy = DataPullSocket("xy data", ["x1", "x2"], port=free_port(), timeouts=[None, 0.5], **kw)
    xy.set_point("x1", (9.7, 100))
    xy.set_point("x2", (15.3, 111), timestamp=1000.0)
    servers = {"date": date, "xy": xy}
    servers["store_last"] = DataPushSocket("store", port=free_port(), **kw)
    servers["enqueue"] = DataPushSocket("queue", port=free_port(), action="enqueue", **kw)
    for return_format in ("json", "raw", "string"):
        servers[return_format] = DataPushSocket(
            "direct " + return_format,
            port=free_port(),
            action="callback_direct",
            callback=callback,
            return_format=return_format,
            **kw,
        )
    for key, server in servers.items():
        server.start()
        ports[key] = server.port
    if args:  # a live server's port: send it three messages
        live = LiveSocket("live", ["a", "b"], ("127.0.0.1", int(args[0])), no_internal_data_pull_socket=True)
        live.set_point("a", (1.0, 2.0))
        live.set_batch({"a": (1.5, "on"), "b": [2.0, 3]})
        live.reset(["b"])
    layout = {key: sorted(DATA[server.port]) for key, server in servers.items()}
    print(json.dumps({**ports, "layout": layout}), flush=True)
    sys.stdin.read()
    for server in servers.values():
        server.stop()


if __name__ == "__main__":
    main()
