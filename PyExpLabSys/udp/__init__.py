"""UDP sockets that other PCs read (pull), write to (push), and the live-server feed.

The wire protocol is PyExpLabSys's (:mod:`PyExpLabSys.common.sockets` keeps its names):

* :mod:`.wire` the protocol's fixed words and the codename rule;
* :mod:`.limits` how much a datagram, a sender and all senders may ask (policy and gate);
* :mod:`.server` one UDP port answered on a thread, bad datagrams counted, never raised;
* :mod:`.registry` the shared table of every socket of this process (upstream's ``DATA``);
* :mod:`.system_status` what the ``status`` command tells about this PC;
* :mod:`.pull` the pull sockets (current value per codename, ``OLD_DATA`` after a time-out);
* :mod:`.rawcodec` the hand-made ``raw`` encoding of push commands and replies;
* :mod:`.push` the push socket and its actions (store, enqueue, call back);
* :mod:`.live` messages to a live server.
"""
