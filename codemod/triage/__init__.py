"""unleak triage: from a goroutine report of a running program to the leak sites in the source.

load (file, stdin, loopback URL) -> parse (dumps, tracebacks, goroutineleak profiles, goleak)
-> sites (group identical stacks, keep the blocked ones, map each to a frame of the module,
match the transforms' findings there) -> report (text, JSON, diff).
"""
