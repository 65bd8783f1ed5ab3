"""What a goroutine report says, whatever its format: stacks, their states and counts."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Wait reasons (runtime/runtime2.go waitReasonStrings) of goroutines blocked on a
# concurrency primitive: waits only another goroutine can end, and so the ones that leak.
BLOCKED_STATES = frozenset(
    {
        "chan send",
        "chan receive",
        "chan send (nil chan)",
        "chan receive (nil chan)",
        "select",
        "select (no cases)",
        "sync.Cond.Wait",
        "sync.Mutex.Lock",
        "sync.RWMutex.RLock",
        "sync.RWMutex.Lock",
        "sync.WaitGroup.Wait",
        "semacquire",  # sync waits before Go 1.20 named their primitive
    }
)
_DURABLE = " (durable)"  # the same waits inside a synctest bubble

# Where a goroutine parks, by the innermost runtime or sync function on its stack: the state
# of a report that shows frames but no wait reason (profile.proto, debug=1 text).
STATE_BY_FUNCTION = {
    "runtime.chansend": "chan send",
    "runtime.chansend1": "chan send",
    "runtime.chanrecv": "chan receive",
    "runtime.chanrecv1": "chan receive",
    "runtime.chanrecv2": "chan receive",
    "runtime.selectgo": "select",
    "runtime.block": "select (no cases)",
    "sync.runtime_notifyListWait": "sync.Cond.Wait",
    "sync.runtime_SemacquireWaitGroup": "sync.WaitGroup.Wait",
    "sync.runtime_SemacquireMutex": "sync.Mutex.Lock",
    "internal/sync.runtime_SemacquireMutex": "sync.Mutex.Lock",
    "sync.runtime_SemacquireRWMutexR": "sync.RWMutex.RLock",
    "sync.runtime_SemacquireRWMutex": "sync.RWMutex.Lock",
    "sync.runtime_Semacquire": "semacquire",
    "time.Sleep": "sleep",
    "internal/poll.runtime_pollWait": "IO wait",
}
_RUNTIME_PREFIXES = ("runtime.", "internal/", "sync.", "time.")


def is_blocked_state(state: str) -> bool:
    return state.removesuffix(_DURABLE) in BLOCKED_STATES


def state_from_frames(frames: tuple[Frame, ...]) -> str | None:
    """The wait reason the innermost frames imply (runtime.chansend1 -> chan send), if any."""
    for frame in frames:
        state = STATE_BY_FUNCTION.get(frame.function)
        if state == "semacquire" and any(
            f.function == "sync.(*WaitGroup).Wait" for f in frames[:4]
        ):
            return "sync.WaitGroup.Wait"
        if state is not None:
            return state
        if not frame.function.startswith(_RUNTIME_PREFIXES):
            return None
    return None


@dataclass(frozen=True)
class Frame:
    """One call on a stack: the function (as Go names symbols) and where it stands."""

    function: str
    file: str
    line: int

    @property
    def package(self) -> str:
        """The function's import path: example.com/m/pkg.(*T).F -> example.com/m/pkg."""
        name = re.sub(r"\[.*?\]", "", self.function)  # type arguments may hold dots and slashes
        slash = name.rfind("/")
        dot = name.find(".", slash + 1)
        # The linker escapes dots of the last path element: gopkg.in/yaml%2ev3.Unmarshal.
        return (name if dot < 0 else name[:dot]).replace("%2e", ".")


@dataclass(frozen=True)
class StackRecord:
    """Goroutines with one stack (count of them), innermost frame first."""

    frames: tuple[Frame, ...]
    count: int = 1
    state: str | None = None  # the wait reason; None when the report does not say
    leaked: bool = False  # marked leaked by the runtime (goroutineleak profile, "(leaked)")
    wait_minutes: int | None = None  # the runtime's "N minutes" (waits of a minute or more)
    created_by: Frame | None = None
    # debug=1 text hides the runtime frames at the top of a stack: the goroutine is parked
    # in the runtime, on an operation the innermost shown frame performs.
    parked_in_hidden_runtime: bool = False

    @property
    def blocked(self) -> bool | None:
        """Whether the goroutine waits on a concurrency primitive; None: cannot tell yet."""
        if self.leaked or (self.state is not None and is_blocked_state(self.state)):
            return True
        if self.state is None and self.parked_in_hidden_runtime:
            return None
        return False


@dataclass(frozen=True)
class Report:
    """A parsed report: its format and every stack it holds."""

    format: str  # a key of FORMAT_LABELS
    records: tuple[StackRecord, ...]

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self.format]

    @property
    def goroutines(self) -> int:
        return sum(record.count for record in self.records)


FORMAT_LABELS = {
    "goroutineleak-text": "goroutineleak profile (text)",
    "goroutineleak-proto": "goroutineleak profile (profile.proto)",
    "goroutine-text": "goroutine profile (debug=1)",
    "goroutine-proto": "goroutine profile (profile.proto)",
    "goroutine-dump": "goroutine dump (debug=2)",
    "traceback": "traceback",
    "goleak": "goleak report",
}
