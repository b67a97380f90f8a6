"""Stand-in for pip's get-pip.py, for ansible-test on machines without that download.

ansible-test bootstraps pip in each of its sanity venvs by running a get-pip.py it
downloads from its own file host, or takes from ~/.ansible/test/cache/. This
machine reaches PyPI but not that host, so the Makefile puts this file there
instead: it installs pip from the interpreter's bundled wheel (ensurepip) and then
the requested pip version from the package index, with the same arguments
get-pip.py would have passed to `pip install`.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
