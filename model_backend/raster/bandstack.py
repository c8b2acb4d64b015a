"""Single-band files read as one multi-band raster (a STAC item's red, green and blue assets).

GDAL would combine them in a VRT, but a VRT opens its sources with whatever driver their content asks
for; here each file is opened by the caller (a URL with the GeoTIFF driver only) and reads go to each file
in turn. ``BandStack`` answers the part of rasterio's dataset interface the raster package uses (size,
georeferencing, band metadata, overviews, ``read`` and ``read_masks``), band ``i`` being band 1 of member
``i``. Members must lie on one grid (same size, transform and CRS).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from rasterio.enums import ColorInterp

from ..errors import RasterError

_RGB = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)


class BandStack:
    """Members (rasterio datasets, or anything with their interface) as bands ``1..n``; ``names`` label
    them in messages. Closing the stack closes the members."""

    def __init__(self, members: Sequence, names: Sequence[str], label: str):
        if not members or len(members) != len(names):
            raise ValueError("a band stack needs one name per member")
        self.members = list(members)
        self.names = list(names)
        self.name = label
        first = self.members[0]
        for member, name in zip(self.members[1:], self.names[1:]):
            if (member.width, member.height) != (first.width, first.height) or member.crs != first.crs \
                    or not member.transform.almost_equals(first.transform, precision=1e-9 * max(first.res)):
                raise RasterError(
                    f"{label}: {self.names[0]} and {name} lie on different grids ({first.width}x{first.height} "
                    f"px of {first.res[0]:g} vs {member.width}x{member.height} px of {member.res[0]:g}); name one "
                    "multi-band asset instead, or assets of the same resolution"
                )

    # -- what rasterio datasets answer ----------------------------------------------------------
    @property
    def width(self) -> int:
        return self.members[0].width

    @property
    def height(self) -> int:
        return self.members[0].height

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def transform(self):
        return self.members[0].transform

    @property
    def crs(self):
        return self.members[0].crs

    @property
    def res(self) -> tuple[float, float]:
        return self.members[0].res

    @property
    def gcps(self):
        return self.members[0].gcps

    @property
    def dtypes(self) -> tuple[str, ...]:
        return tuple(m.dtypes[0] for m in self.members)

    @property
    def nodata(self):
        return self.members[0].nodata

    @property
    def nodatavals(self) -> tuple:
        return tuple(m.nodatavals[0] for m in self.members)

    @property
    def colorinterp(self) -> tuple:
        if len(self.members) == 3:
            return _RGB
        return (ColorInterp.gray,) * len(self.members)

    @property
    def mask_flag_enums(self) -> tuple:
        return tuple(m.mask_flag_enums[0] for m in self.members)

    @property
    def block_shapes(self) -> list[tuple[int, int]]:
        return [m.block_shapes[0] for m in self.members]

    @property
    def closed(self) -> bool:
        return all(m.closed for m in self.members)

    def overviews(self, band: int) -> list[int]:
        return self.members[band - 1].overviews(1)

    def colormap(self, band: int):
        raise ValueError(f"band {band} of {self.name} has no colour table")

    def read(self, indexes: int | Sequence[int] | None = None, **kwargs) -> np.ndarray:
        """Like ``DatasetReader.read``: ``indexes`` 1-based (an int gives a 2-D array); ``out_shape`` may be
        ``(h, w)`` or ``(n, h, w)``."""
        return self._per_band("read", indexes, kwargs)

    def read_masks(self, indexes: int | Sequence[int] | None = None, **kwargs) -> np.ndarray:
        return self._per_band("read_masks", indexes, kwargs)

    def _per_band(self, method: str, indexes, kwargs) -> np.ndarray:
        single = isinstance(indexes, int)
        wanted = [indexes] if single else list(indexes) if indexes is not None else list(range(1, self.count + 1))
        shape = kwargs.pop("out_shape", None)
        if shape is not None:
            kwargs["out_shape"] = tuple(shape[-2:])
        for i in wanted:
            if not 1 <= i <= self.count:
                raise IndexError(f"band index {i} out of range (not in 1..{self.count})")
        planes = [getattr(self.members[i - 1], method)(1, **kwargs) for i in wanted]
        return planes[0] if single else np.stack(planes)

    def map(self, make: Callable) -> "BandStack":
        """A stack of ``make(member)`` for each member (e.g. each warped onto another grid); the new
        members are closed with the new stack, the old ones stay open."""
        return BandStack([make(m) for m in self.members], self.names, self.name)

    def close(self) -> None:
        for member in self.members:
            member.close()

    def __repr__(self) -> str:
        return f"BandStack({self.name!r}, {', '.join(self.names)})"


def per_member(dataset, make: Callable):
    """``make(dataset)``, or for a ``BandStack`` a stack of ``make`` applied to each member."""
    return dataset.map(make) if isinstance(dataset, BandStack) else make(dataset)
