"""A lab script in PyExpLabSys's style: a vacuum setup that logs and serves its values.

A reader thread polls the (here simulated) gauge and thermometer; a ValueLogger per
codename decides what is logged; every value goes to a DateDataPullSocket (port 9000)
and a LiveSocket (live server from the user settings, internal pull socket on 8000);
logged values go to a ContinuousDataSaver. Four DataPushSockets, one per action, take
orders from other PCs: a setpoint (store_last, 8500), commands (enqueue, 8501), valve
switching (callback_async, 8502) and questions answered at once (callback_direct, 8503).

Written from upstream's documented examples. The tests run it unchanged against the
mock database, with free ports instead of the fixed ones (``Setup(...)`` arguments), and
read its sockets over UDP with an independent client.
"""

import math
import threading
import time

from PyExpLabSys.common.database_saver import ContinuousDataSaver
from PyExpLabSys.common.sockets import DataPushSocket, DateDataPullSocket, LiveSocket
from PyExpLabSys.common.value_logger import ValueLogger

CODENAMES = ["moon_pressure", "moon_temperature"]
MARKER = "moon_marker"
PULL_PORT = 9000
LIVE_PULL_PORT = 8000
PUSH_PORTS = (8500, 8501, 8502, 8503)


class Reader(threading.Thread):
    """Reads the instruments (simulated: a pressure that wobbles, a temperature that
    follows its setpoint)."""

    def __init__(self):
        super().__init__()
        self.daemon = True
        self.values = {"moon_pressure": None, "moon_temperature": None}
        self.setpoint = 20.0
        self.quit = False

    def value(self, channel):
        return self.values[CODENAMES[channel]]

    def run(self):
        while not self.quit:
            self.values["moon_pressure"] = 1e-6 * (1.5 + math.sin(time.time()))
            self.values["moon_temperature"] = self.setpoint
            time.sleep(0.05)


class Setup:
    def __init__(self, pull_port=PULL_PORT, live_pull_port=LIVE_PULL_PORT, push_ports=PUSH_PORTS):
        self.reader = Reader()
        self.loggers = {}
        for index, codename in enumerate(CODENAMES):
            self.loggers[codename] = ValueLogger(
                self.reader, comp_val=0.05, comp_type="log", maximumtime=600, channel=index
            )
        self.pullsocket = DateDataPullSocket("moon vacuum", CODENAMES, timeouts=[4, 4], port=pull_port)
        self.livesocket = LiveSocket("moon vacuum", CODENAMES, internal_data_pull_socket_port=live_pull_port)
        self.valve = "closed"
        self.setpoint_socket = DataPushSocket("moon setpoint", port=push_ports[0], action="store_last")
        self.command_socket = DataPushSocket("moon commands", port=push_ports[1], action="enqueue")
        self.valve_socket = DataPushSocket(
            "moon valve", port=push_ports[2], action="callback_async", callback=self.switch_valve
        )
        self.question_socket = DataPushSocket(
            "moon questions", port=push_ports[3], action="callback_direct", callback=self.answer
        )
        self.db_logger = ContinuousDataSaver(
            continuous_data_table="dateplots_moon",
            username="moon",
            password="moon",
            measurement_codenames=[*CODENAMES, MARKER],
        )

    def switch_valve(self, data):
        self.valve = data["valve"]

    def answer(self, data):
        if data.get("question") == "values":
            return dict(self.reader.values)
        if data.get("question") == "valve":
            return self.valve
        raise ValueError("Unknown question: {}".format(data.get("question")))

    def run(self, stop):
        self.reader.start()
        for value_logger in self.loggers.values():
            value_logger.start()
        self.pullsocket.start()
        self.livesocket.start()
        for sock in (self.setpoint_socket, self.command_socket, self.valve_socket, self.question_socket):
            sock.start()
        self.db_logger.start()
        try:
            while not stop.is_set():
                time.sleep(0.1)
                _, setpoint = self.setpoint_socket.last
                if setpoint is not None:
                    self.reader.setpoint = setpoint["temperature"]
                while self.command_socket.queue.qsize() > 0:
                    command = self.command_socket.queue.get()
                    if command.get("command") == "mark":
                        self.db_logger.save_point_now(MARKER, command["value"])
                for codename in CODENAMES:
                    value = self.loggers[codename].read_value()
                    if value is None:
                        continue
                    self.pullsocket.set_point_now(codename, value)
                    self.livesocket.set_point_now(codename, value)
                    if self.loggers[codename].read_trigged():
                        self.db_logger.save_point_now(codename, value)
                        self.loggers[codename].clear_trigged()
        finally:
            self.reader.quit = True
            for value_logger in self.loggers.values():
                value_logger.stop()
            self.pullsocket.stop()
            self.livesocket.stop()
            for sock in (self.setpoint_socket, self.command_socket, self.valve_socket, self.question_socket):
                sock.stop()
            self.db_logger.stop()


def main():
    stop = threading.Event()
    setup = Setup()
    try:
        setup.run(stop)
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    main()
