"""The transforms, one module each; ALL_TRANSFORMS is the registry in a stable order."""

from __future__ import annotations

from codemod.transform import Transform
from transforms.close_producer_channel import CloseProducerChannel

ALL_TRANSFORMS: tuple[Transform, ...] = (CloseProducerChannel(),)

_BY_ID = {transform.id: transform for transform in ALL_TRANSFORMS}


def transform_by_id(transform_id: str) -> Transform | None:
    return _BY_ID.get(transform_id)
