"""Generated producer functions: each rewrite is gofmt-clean, idempotent, and only adds a close."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codemod.go.parse import parse_source
from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod

MODULE = parse_gomod("module example\n\ngo 1.22\n")
NAMES = st.sampled_from(["out", "ch", "results", "lines", "c", "values"])


@dataclass(frozen=True)
class Producer:
    name: str
    local: str | None  # the goroutine's parameter name, when the channel is passed in
    buffer: str | None
    element: str
    one_line: bool
    comment: bool
    consumer: str  # "return" or "range"
    spoiler: str | None  # something that makes the fix unsafe: None when the fix must apply
    caller: str = "range"  # how a caller in the file reads a returned channel: range/select/none

    def source(self) -> str:
        chan_type = f"chan {self.element}"
        make = f"make({chan_type}, {self.buffer})" if self.buffer else f"make({chan_type})"
        send = f"{self.local or self.name} <- i"
        parameter = f"{self.local} chan<- {self.element}" if self.local else ""
        if self.one_line:
            body = f"\tgo func({parameter}) {{ {send} }}"
        else:
            comment = " // produce" if self.comment else ""
            loop = f"\t\tfor i := 0; i < n; i++ {{\n\t\t\t{send}\n\t\t}}"
            body = f"\tgo func({parameter}) {{{comment}\n{loop}\n\t}}"
        call = f"({self.name})" if self.local else "()"
        lines = [
            "package p",
            "",
            f"func Produce(n int, x {self.element}) <-chan {self.element} {{",
            "\t_ = x",
            f"\t{self.name} := {make}",
            body + call,
        ]
        if self.spoiler == "second sender":
            lines.append(f"\tgo func() {{ {self.name} <- x }}()")
        elif self.spoiler == "closed":
            lines.append(f"\tdefer close({self.name})")
        elif self.spoiler == "passed on":
            lines.append(f"\tkeep({self.name})")
        if self.consumer == "range":
            lines.append(f"\tfor v := range {self.name} {{\n\t\t_ = v\n\t}}")
            lines.append("\treturn nil")
        else:
            lines.append(f"\treturn {self.name}")
        lines.append("}")
        lines.append(f"\nfunc keep(c chan {self.element}) {{ _ = c }}")
        if self.consumer == "return" and self.caller == "range":
            lines.append(
                "\nfunc Total() (n int) {\n\tfor v := range Produce(3, 0) {\n"
                "\t\tn += v\n\t}\n\treturn n\n}"
            )
        elif self.consumer == "return" and self.caller == "select":
            lines.append(
                "\nfunc First(done chan struct{}) int {\n\tfor {\n\t\tselect {\n"
                "\t\tcase v := <-Produce(3, 0):\n\t\t\treturn v\n\t\tcase <-done:\n"
                "\t\t\treturn 0\n\t\t}\n\t}\n}"
            )
        return "\n".join(lines) + "\n"


@st.composite
def producers(draw: st.DrawFn, spoilt: bool) -> Producer:
    name = draw(NAMES)
    local = draw(st.one_of(st.none(), NAMES.filter(lambda n: n != name)))
    return Producer(
        name=name,
        local=local,
        buffer=draw(st.sampled_from([None, "1", "n"])),
        element="int",
        one_line=draw(st.booleans()),
        comment=draw(st.booleans()),
        consumer=draw(st.sampled_from(["return", "range"])),
        spoiler=draw(st.sampled_from(["second sender", "closed", "passed on"])) if spoilt else None,
    )


def _gofmt(source: bytes) -> bytes:
    gofmt = shutil.which("gofmt")
    if gofmt is None:
        pytest.skip("gofmt not installed")
    return subprocess.run([gofmt], input=source, capture_output=True, check=True).stdout


@settings(max_examples=60, deadline=None)
@given(producers(spoilt=False))
def test_fix_is_gofmt_clean_idempotent_and_only_adds_the_close(producer: Producer) -> None:
    before = _gofmt(producer.source().encode())
    result = run_codemod(before, MODULE)
    assert result.rewritten is not None, producer.source()
    after = result.rewritten
    assert _gofmt(after) == after
    assert not parse_source(after).root.has_error
    assert run_codemod(after, MODULE).rewritten is None
    close = f"defer close({producer.local or producer.name})"
    if producer.one_line:
        # The one-line body is opened up over several lines; its statements stay as they were.
        text = before.decode()
        brace = text.index("{", text.index("go func("))
        assert (
            after.decode().split() == (text[: brace + 1] + f" {close} " + text[brace + 1 :]).split()
        )
    else:
        added = sorted(set(after.decode().splitlines()) - set(before.decode().splitlines()))
        assert added == ["\t\t" + close]


@settings(max_examples=60, deadline=None)
@given(producers(spoilt=True))
def test_no_fix_when_the_goroutine_is_not_provably_the_only_sender(producer: Producer) -> None:
    result = run_codemod(producer.source().encode(), MODULE, unsafe=True)
    assert result.rewritten is None, producer.source()


@settings(max_examples=30, deadline=None)
@given(producers(spoilt=False), st.sampled_from(["range", "select", "none"]))
def test_a_returned_channel_is_closed_by_default_only_when_its_callers_range(
    producer: Producer, caller: str
) -> None:
    # A one-line goroutine sends one value: a one-shot result, which is not closed by default.
    returned = Producer(
        **{**producer.__dict__, "consumer": "return", "caller": caller, "one_line": False}
    )
    result = run_codemod(returned.source().encode(), MODULE, select="close-producer-channel")
    [finding] = result.findings
    expected = {"range": Safety.SAFE, "none": Safety.REVIEW, "select": Safety.REPORT_ONLY}
    assert finding.safety == expected[caller], returned.source()
    assert (result.rewritten is not None) == (caller == "range")
