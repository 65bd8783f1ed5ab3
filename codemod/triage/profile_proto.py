"""The pprof profile.proto format (gzip-compressed), read with Google's protobuf runtime.

The schema is google/pprof's proto/profile.proto (package perftools.profiles), declared here
as a FileDescriptorProto rather than generated code: generated _pb2 modules pin the protobuf
runtime version they were made with, while a descriptor built at run time works with any
protobuf 5 or later. Only the fields a goroutine profile uses are declared; the parser skips
the others as unknown fields, as protobuf does for every message.
"""

from __future__ import annotations

import gzip
import io
import zlib
from functools import lru_cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from codemod.triage.model import Frame, Report, StackRecord, state_from_frames

GZIP_MAGIC = b"\x1f\x8b"
# A goroutine profile aggregates equal stacks: tens of thousands of distinct stacks take a
# few MiB. A gzip bomb, or a crafted message that expands twentyfold once decoded, does not.
MAX_PROFILE_BYTES = 64 << 20
MAX_DECODED_BYTES = 32 << 20  # estimated from the wire format before decoding (see _estimate)
MAX_FRAMES = 2_000_000  # over all samples: a sample may name one inlined location many times
PROFILE_FORMATS = {"goroutineleak": "goroutineleak-proto", "goroutine": "goroutine-proto"}

_FIELD = descriptor_pb2.FieldDescriptorProto
_INT64, _UINT64, _STRING, _BOOL, _MESSAGE = (
    _FIELD.TYPE_INT64,
    _FIELD.TYPE_UINT64,
    _FIELD.TYPE_STRING,
    _FIELD.TYPE_BOOL,
    _FIELD.TYPE_MESSAGE,
)
# message -> (field number, name, type, repeated, message type) as in profile.proto.
_SCHEMA: dict[str, list[tuple[int, str, int, bool, str]]] = {
    "Profile": [
        (1, "sample_type", _MESSAGE, True, "ValueType"),
        (2, "sample", _MESSAGE, True, "Sample"),
        (4, "location", _MESSAGE, True, "Location"),
        (5, "function", _MESSAGE, True, "Function"),
        (6, "string_table", _STRING, True, ""),
        (9, "time_nanos", _INT64, False, ""),
    ],
    "ValueType": [(1, "type", _INT64, False, ""), (2, "unit", _INT64, False, "")],
    "Sample": [
        (1, "location_id", _UINT64, True, ""),
        (2, "value", _INT64, True, ""),
    ],
    "Location": [
        (1, "id", _UINT64, False, ""),
        (3, "address", _UINT64, False, ""),
        (4, "line", _MESSAGE, True, "Line"),
    ],
    "Line": [(1, "function_id", _UINT64, False, ""), (2, "line", _INT64, False, "")],
    "Function": [
        (1, "id", _UINT64, False, ""),
        (2, "name", _INT64, False, ""),
        (4, "filename", _INT64, False, ""),
    ],
}


class ProfileError(ValueError):
    """The bytes are not a readable goroutine profile; the message says what is wrong."""


@lru_cache(maxsize=1)
def _profile_class() -> Any:
    file = descriptor_pb2.FileDescriptorProto(
        name="unleak/profile.proto", package="perftools.profiles", syntax="proto3"
    )
    for name, fields in _SCHEMA.items():
        message = file.message_type.add(name=name)
        for number, field_name, kind, repeated, type_name in fields:
            field = message.field.add(
                name=field_name,
                number=number,
                type=kind,
                label=_FIELD.LABEL_REPEATED if repeated else _FIELD.LABEL_OPTIONAL,
            )
            if type_name:
                field.type_name = f".perftools.profiles.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("perftools.profiles.Profile"))


def decompress(data: bytes) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            raw = stream.read(MAX_PROFILE_BYTES + 1)
    except EOFError as error:
        raise ProfileError(
            "truncated gzip-compressed profile (the gzip stream ends early)"
        ) from error
    except (OSError, zlib.error) as error:
        raise ProfileError(f"corrupt gzip data ({error})") from error
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError(f"larger than {MAX_PROFILE_BYTES >> 20} MiB once decompressed")
    return raw


# What one decoded element costs at most: a message or string (an object in the decoder's
# arena, then in Python), a scalar of a repeated field (an 8-byte slot in an array that
# grows by doubling).
_ELEMENT_COST, _SCALAR_COST = 64, 16
# Message fields whose elements the estimate walks into: Profile.sample, Profile.location.
_NESTED = {2: "Sample", 4: "Location"}


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ProfileError("a profile.proto message with a corrupt varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        shift += 7
        if byte < 0x80:
            return value, at


def _estimate(
    data: bytes, start: int, end: int, message: str = "Profile", budget: int = MAX_DECODED_BYTES
) -> int:
    """What decoding data[start:end] costs at most, read from the wire format alone;
    ProfileError once it passes budget, so a crafted message is refused before decoding."""
    cost = 0
    at = start
    while at < end:
        tag = data[at]
        if tag < 0x80:  # the common one-byte tag, without a call: crafted input has millions
            at += 1
        else:
            tag, at = _varint(data, at)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            if at < end and data[at] < 0x80:
                at += 1
            else:
                _, at = _varint(data, at)
            cost += _SCALAR_COST
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
            cost += _SCALAR_COST
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > end:
                raise ProfileError("a profile.proto message that ends early")
            if message == "Profile" and number in _NESTED:
                inner = _estimate(data, at, at + length, _NESTED[number], budget - cost)
                cost += _ELEMENT_COST + inner
            elif message == "Sample":
                cost += _SCALAR_COST * length  # packed varints: one slot per byte at worst
            else:
                cost += _ELEMENT_COST
            at += length
        else:
            raise ProfileError(f"a profile.proto message with wire type {wire}")
        if cost > budget:
            raise ProfileError(
                f"would take more than {MAX_DECODED_BYTES >> 20} MiB once decoded "
                "(a crafted or corrupt profile)"
            )
    return cost


def parse_profile(data: bytes) -> Report:
    """A gzip-compressed profile.proto of the goroutine or goroutineleak profile."""
    profile = _profile_class()()
    raw = decompress(data)
    _estimate(raw, 0, len(raw))
    try:
        profile.ParseFromString(raw)
    except DecodeError as error:
        raise ProfileError(f"gzip data that is not a profile.proto message ({error})") from error
    strings = list(profile.string_table)
    if not strings or strings[0] != "" or not profile.sample_type:
        raise ProfileError("a profile.proto without string table or sample types")

    def string(index: int) -> str:
        if not 0 <= index < len(strings):
            raise ProfileError(f"string index {index} out of range")
        return str(strings[index])

    kind = string(profile.sample_type[0].type)
    if kind not in PROFILE_FORMATS:
        measured = ", ".join(string(t.type) or "?" for t in profile.sample_type)
        raise ProfileError(f"a pprof profile of {measured}, not of goroutines")
    functions = {f.id: (string(f.name), string(f.filename)) for f in profile.function}
    locations: dict[int, tuple[Frame, ...]] = {}
    for location in profile.location:
        frames = []
        for line in location.line:  # innermost (inlined) call first
            name, filename = functions.get(line.function_id, ("", ""))
            frames.append(Frame(name or f"{location.address:#x}", filename, line.line))
        locations[location.id] = tuple(frames) or (Frame(f"{location.address:#x}", "", 0),)
    records = []
    frames_left = MAX_FRAMES
    for sample in profile.sample:
        if not sample.value:
            raise ProfileError("a sample without a value")
        try:
            # count before building: a few bytes can name a location of many frames many times
            frames_left -= sum(len(locations[i]) for i in sample.location_id)
            if frames_left < 0:
                raise ProfileError(
                    f"more than {MAX_FRAMES:,} frames (a crafted or corrupt profile)"
                )
            stack = tuple(f for i in sample.location_id for f in locations[i])
        except KeyError as error:
            raise ProfileError(f"a sample refers to missing location {error}") from error
        records.append(
            StackRecord(
                frames=stack,
                count=sample.value[0],
                state=state_from_frames(stack),
                leaked=kind == "goroutineleak",
            )
        )
    return Report(PROFILE_FORMATS[kind], tuple(records))
