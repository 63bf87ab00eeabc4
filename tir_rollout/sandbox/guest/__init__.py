"""What runs inside the sandbox: the fork server and everything it imports. Stdlib only.

`worker.py` runs as a script from this folder (bwrap binds only this folder of the package), so its siblings
import each other by their plain names. The host side imports `framing` (the wire format), `procfs` (reading
/proc), `seccomp` (is a filter supported here) and `preload` (the benchmark warms like a worker) as package
modules; those four import no sibling.
"""
