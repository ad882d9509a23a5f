"""The tests' own machinery: a throw-away MariaDB server, a 3-node Galera cluster, a
fault proxy, TLS certificates and the apt-get installer they use.

It lives beside the tests, not in the wheel: a lab PC installs the logger and the
``mock_database`` plugin (:mod:`PyExpLabSys.testing`), never these. The benchmarks import
it from the source tree too.
"""
