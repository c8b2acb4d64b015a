"""Which files GDAL and OGR may open on a server job's behalf (standard library only).

A client names rasters, context layers and outputs by path. The folder rules (``PathPolicy``) alone are not
enough: GDAL follows references inside files (a VRT's sources, a tile index's locations, overview and mask
side files, open options that run SQL), reads network and virtual file systems (``/vsicurl/``, ``/vsizip/``)
and accepts connection strings (``GTI:``, ``vrt://``, inline ``<VRTDataset>`` XML). So before a job is
queued, ``SourcePolicy`` checks every file GDAL would open for it:

* the text is a plain path (no URL, ``/vsi…``, ``NAME:`` prefix, XML or control character) inside an allowed
  folder once ``~`` is expanded and symlinks are followed; URLs pass only under a prefix the server's owner
  allowed (``--allow-url``), and are opened with the GeoTIFF driver only (``raster.remote``);
* a STAC item (``*.json`` file or URL) is read by the backend itself, never by GDAL, and every asset it
  would read must pass the same rules (``raster``); while a job runs, ``guard`` applies these rules again
  to every location its raster open touches, redirects included (``raster.remote.source_guard``);
* the file's first bytes and its extension agree on one format of a short list (GeoTIFF, PNG, JPEG,
  JPEG 2000, WebP, BMP and GeoPackage rasters; GeoPackage, Shapefile, GeoJSON and FlatGeobuf layers), so GDAL
  picks that format's driver and no other;
* a VRT (raster or OGR) is read as XML and every file it references is checked by the same rules, nested
  VRTs included; kinds of VRT that can run code, SQL or open arbitrary files are refused;
* overview and mask side files (``.ovr``, ``.msk``) must be GeoTIFFs; ``.aux`` side files are refused;
* GeoJSON with a linked CRS (``"crs": {"type": "link", "properties": {"href": …}}``) is refused: GDAL fetches
  the link.

Refusals raise ``SourceRefused`` (a ``PermissionError``) with a message naming the path the client gave or
the reference inside its file, and never saying whether a path outside the allowed folders exists.
"""

from __future__ import annotations

import os
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..vector.gpkgfile import is_geopackage_header

#: Longest path or URL accepted (bytes of text).
MAX_LOCATION_CHARS = 4096
#: VRT files larger than this are refused (a mosaic of thousands of tiles is a few MB).
MAX_VRT_BYTES = 16 * 1024 * 1024
#: VRTs referencing VRTs: deeper nesting is refused.
MAX_VRT_DEPTH = 8

_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# GDAL connection strings select a driver by prefix: GTI:…, GPKG:…, NETCDF:…, HDF5:…, DERIVED:…, PG:…
# (one letter is a Windows drive, not a prefix).
_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]+:")
# GDAL's tile-index driver claims files by these compound extensions whatever their content.
_GTI_RE = re.compile(r"\.gti(\.|$)", re.IGNORECASE)


class SourceRefused(PermissionError):
    """A path, URL or file the server will not let GDAL open for a job; the message is for the client."""


@dataclass(frozen=True)
class _Format:
    name: str  # GDAL driver short name
    label: str  # what users call it
    extensions: tuple[str, ...]


_TIFF = _Format("GTiff", "GeoTIFF", (".tif", ".tiff", ".gtif", ".gtiff"))
_RASTER_FORMATS = (
    _TIFF,
    _Format("PNG", "PNG", (".png",)),
    _Format("JPEG", "JPEG", (".jpg", ".jpeg")),
    _Format("JP2OpenJPEG", "JPEG 2000", (".jp2", ".j2k")),
    _Format("WEBP", "WebP", (".webp",)),
    _Format("BMP", "BMP", (".bmp",)),
    _Format("GPKG", "GeoPackage", (".gpkg",)),
    _Format("VRT", "VRT", (".vrt",)),
)
_VECTOR_FORMATS = (
    _Format("GPKG", "GeoPackage", (".gpkg",)),
    _Format("ESRI Shapefile", "Shapefile", (".shp",)),
    _Format("GeoJSON", "GeoJSON", (".geojson", ".json")),
    _Format("FlatGeobuf", "FlatGeobuf", (".fgb",)),
    _Format("OGR_VRT", "OGR VRT", (".vrt",)),
)


def _accepted(formats: Sequence[_Format]) -> str:
    return ", ".join(f"{f.label} ({'/'.join(f.extensions)})" for f in formats)


def _sniff(head: bytes, fmt: _Format) -> bool:
    """Whether ``head`` (a file's first bytes) is what ``fmt`` says."""
    name = fmt.name
    if name == "GTiff":
        return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    if name == "PNG":
        return head[:8] == b"\x89PNG\r\n\x1a\n"
    if name == "JPEG":
        return head[:3] == b"\xff\xd8\xff"
    if name == "JP2OpenJPEG":
        return head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or head[:4] == b"\xff\x4f\xff\x51"
    if name == "WEBP":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if name == "BMP":
        return head[:2] == b"BM"
    if name == "GPKG":
        return is_geopackage_header(head)
    if name == "ESRI Shapefile":
        return head[:4] == b"\x00\x00\x27\x0a"
    if name == "FlatGeobuf":
        return head[:4] == b"fgb\x03"
    if name == "GeoJSON":
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"
    if name in ("VRT", "OGR_VRT"):
        root = b"<VRTDataset" if name == "VRT" else b"<OGRVRTDataSource"
        return root in head
    return False


def _is_url(text: str) -> bool:
    return bool(_URL_RE.match(text)) or text.startswith("/vsi")


class UrlPrefixes:
    """HTTP(S) URL prefixes the server's owner allows (``--allow-url``). A URL passes when its scheme, host
    and port equal a prefix's and its path lies under the prefix's path (whole segments: the prefix
    ``https://h/data`` allows ``/data/x.tif`` but not ``/database``)."""

    def __init__(self, prefixes: Iterable[str] = ()):
        self.prefixes = [self._parse(p, given=p) for p in prefixes]

    @staticmethod
    def _parse(url: str, *, given: str) -> tuple[str, str, int, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{given!r} is not an http(s)://host/… URL")
        if parts.username or parts.password:
            raise ValueError(f"{given!r}: URLs with user names or passwords are not accepted")
        raw_path = unquote(parts.path) or "/"
        if any(seg in (".", "..") for seg in raw_path.split("/")) or "\\" in raw_path:
            raise ValueError(f"{given!r}: '.', '..' and backslashes are not accepted in URL paths")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return parts.scheme, parts.hostname.lower(), port, posixpath.normpath(raw_path)

    def allows(self, url: str) -> bool:
        try:
            scheme, host, port, path = self._parse(url, given=url)
        except ValueError:
            return False
        for p_scheme, p_host, p_port, p_path in self.prefixes:
            if (scheme, host, port) != (p_scheme, p_host, p_port):
                continue
            if p_path == "/" or path == p_path or path.startswith(p_path.rstrip("/") + "/"):
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self.prefixes)


class PathPolicy:
    """Raster and vector paths a client names must resolve (symlinks followed) inside an allowed folder."""

    def __init__(self, allowed_dirs: Iterable[str | Path]):
        self.allowed = [Path(d).expanduser().resolve() for d in allowed_dirs]

    def inside(self, resolved: Path) -> bool:
        return any(resolved == root or root in resolved.parents for root in self.allowed)

    def check(self, path: str) -> Path:
        """The resolved path, or ``SourceRefused`` naming the allowed folders."""
        resolved = Path(os.path.expanduser(path)).resolve()
        if self.inside(resolved):
            return resolved
        raise SourceRefused(
            f"path {path} is outside the server's allowed folders ({', '.join(map(str, self.allowed)) or 'none'}); "
            "start the server with --allow-dir to add one"
        )


class SourcePolicy:
    """The folder rules plus what GDAL would follow. ``raster``, ``vector`` and ``output`` return the text to
    hand to GDAL (a resolved path, or an allowed URL as given) or raise ``SourceRefused``."""

    def __init__(self, allowed_dirs: Iterable[str | Path], allowed_urls: Iterable[str] = ()):
        self.paths = PathPolicy(allowed_dirs)
        self.urls = UrlPrefixes(allowed_urls)

    # -- text ---------------------------------------------------------------------------------------
    def location(self, text: object, what: str) -> str:
        """A plain path inside the allowed folders (resolved), or an allowed http(s) URL (as given)."""
        if not isinstance(text, str) or not text.strip():
            raise SourceRefused(f"{what}: give a file path")
        if len(text) > MAX_LOCATION_CHARS:
            raise SourceRefused(f"{what}: path longer than {MAX_LOCATION_CHARS} characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise SourceRefused(f"{what}: control characters (NUL, newline…) are not accepted in paths")
        if text.lstrip().startswith("<"):
            raise SourceRefused(f"{what}: inline XML datasets are not accepted; give a file path")
        if _is_url(text):
            url = text[len("/vsicurl/"):] if text.startswith("/vsicurl/") else text
            if url.startswith(("http://", "https://")) and self.urls.allows(url):
                return text
            hint = ("only http(s) URLs under a prefix the server allows (--allow-url PREFIX) are read"
                    if self.urls else "the server reads no URLs unless started with --allow-url PREFIX")
            raise SourceRefused(f"{what}: URLs and GDAL virtual file systems (/vsi…) are refused: {hint}")
        if _PREFIX_RE.match(text):
            raise SourceRefused(f"{what}: GDAL connection strings (NAME:…) are not accepted; give a file path")
        try:
            return str(self.paths.check(text))
        except SourceRefused as exc:
            raise SourceRefused(f"{what}: {exc}") from None

    # -- rasters ------------------------------------------------------------------------------------
    def raster(self, text: object, what: str = "raster", assets: Sequence[str] | None = None) -> str:
        """A raster a job names: a file GDAL opens (format rules), an allowed URL, or a STAC item (an allowed
        ``*.json`` file or URL) whose assets to read (``assets``, else the default choice) pass these rules.
        An item URL is fetched here (a few KB, redirects checked) so that a refused asset is refused now."""
        location = self.location(text, what)
        from ..raster import stac

        if stac.names_item(location):
            self._stac_item(location, what, assets)
        elif not _is_url(location):
            self._raster_file(Path(location), what, given=str(text), depth=0, seen=frozenset())
        return location

    def guard(self, location: str, kind: str, what: str) -> str:
        """These rules as ``raster.remote.source_guard`` takes them: ``kind`` ``"item"`` (a STAC item,
        parsed by the backend: folder or URL rules) or ``"raster"`` (opened by GDAL: format rules too)."""
        checked = self.location(location, what)
        if kind == "item":
            if not _is_url(checked) and not Path(checked).is_file():
                raise SourceRefused(f"{what}: {location} does not exist or is not a file")
        elif not _is_url(checked):
            self._raster_file(Path(checked), what, given=location, depth=0, seen=frozenset())
        return checked

    def _stac_item(self, location: str, what: str, assets: Sequence[str] | None) -> None:
        from ..raster import remote, stac

        try:
            with remote.source_guard(self.guard):
                if not _is_url(location) and not Path(location).is_file():
                    raise SourceRefused(f"{what}: {location} does not exist or is not a file")
                picked = stac.item_assets(stac.read_item(location), location, assets)
        except remote.Refused as exc:
            raise SourceRefused(str(exc)) from None
        for asset in picked:
            self.guard(asset.href, "raster", f"{what}: STAC asset {asset.key!r}")

    def _raster_file(self, path: Path, what: str, *, given: str, depth: int, seen: frozenset[Path]) -> None:
        _check_nesting(path, what, given, depth, seen)
        fmt = self._format(path, _RASTER_FORMATS, what, given)
        if fmt.name == "VRT":
            self._vrt(path, what, depth=depth, seen=seen | {path})
        self._side_files(path, what, given)

    def _side_files(self, path: Path, what: str, given: str) -> None:
        """GDAL opens ``X.ovr`` / ``X.msk`` beside a raster with any driver: they must be GeoTIFFs. ``.aux``
        side files (ERDAS format, which can name further files) are refused."""
        folder = path.parent
        for suffix in (".ovr", ".msk"):
            for side in {folder / (path.name + suffix), folder / (path.name + suffix.upper())}:
                if side.exists() and not _sniff(_head(side), _TIFF):
                    raise SourceRefused(f"{what}: the side file {side.name} beside {given} is not a GeoTIFF")
        for name in (path.name + ".aux", path.stem + ".aux"):
            for side in {folder / name, folder / (name[:-4] + ".AUX")}:
                if side.exists():
                    raise SourceRefused(f"{what}: {given} has an .aux side file ({side.name}), which the server "
                                        "does not read: remove it or convert the raster to GeoTIFF")

    def _vrt(self, path: Path, what: str, *, depth: int, seen: frozenset[Path]) -> None:
        root = _parse_xml(path, what)
        if root.tag != "VRTDataset":
            raise SourceRefused(f"{what}: {path.name} is not a raster VRT")
        if root.get("subClass"):
            raise SourceRefused(f"{what}: VRTs of kind {root.get('subClass')} are not accepted for server jobs "
                                "(only plain mosaics and band selections)")
        parents = {child: parent for parent in root.iter() for child in parent}
        for element in root.iter():
            tag = element.tag
            if tag == "VRTRasterBand" and element.get("subClass") not in (
                    None, "VRTSourcedRasterBand", "VRTDerivedRasterBand", "VRTRawRasterBand"):
                raise SourceRefused(f"{what}: VRT bands of kind {element.get('subClass')} are not accepted")
            if tag in ("PixelFunctionLanguage", "PixelFunctionCode"):
                raise SourceRefused(f"{what}: VRT pixel functions written in Python are not accepted")
            if tag == "OpenOptions":
                raise SourceRefused(f"{what}: VRT source open options are not accepted")
            if tag in ("SourceFilename", "SourceDataset"):
                ref = self._reference(element, path, what)
                band = parents.get(element)
                if band is not None and band.get("subClass") == "VRTRawRasterBand":
                    if not _is_url(ref) and not Path(ref).is_file():
                        raise SourceRefused(f"{what}: the raw file {element.text} named in {path.name} does not exist")
                elif not _is_url(ref):
                    self._raster_file(Path(ref), what, given=(element.text or "").strip(), depth=depth + 1, seen=seen)

    def _reference(self, element: ET.Element, vrt: Path, what: str) -> str:
        """A file a VRT names, resolved as GDAL would (beside the VRT when ``relativeToVRT="1"``, else
        from the server's working folder) and checked like a path the client gave."""
        text = (element.text or "").strip()
        where = f"{what}: {vrt.name} refers to {text!r}"
        if not text:
            raise SourceRefused(f"{what}: {vrt.name} has an empty {element.tag}")
        if _is_url(text) or _PREFIX_RE.match(text) or text.startswith("<"):
            try:
                return self.location(text, where)
            except SourceRefused as exc:
                raise SourceRefused(str(exc)) from None
        base = vrt.parent if element.get("relativeToVRT") == "1" else Path.cwd()
        candidate = str(base / text) if not os.path.isabs(text) else text
        return self.location(candidate, where)

    # -- vector layers ------------------------------------------------------------------------------
    def vector(self, path_and_layer: str, what: str = "context layer") -> str:
        """``PATH`` or ``PATH|LAYER`` -> the same with ``PATH`` resolved (the layer name is kept)."""
        path, bar, layer = str(path_and_layer).partition("|")
        location = self.location(path, what)
        if not _is_url(location):
            self._vector_file(Path(location), what, given=path, depth=0, seen=frozenset())
        return location + bar + layer

    def _vector_file(self, path: Path, what: str, *, given: str, depth: int, seen: frozenset[Path]) -> None:
        _check_nesting(path, what, given, depth, seen)
        fmt = self._format(path, _VECTOR_FORMATS, what, given)
        if fmt.name == "GeoJSON" and _contains(path, b'"href"'):
            raise SourceRefused(f"{what}: {given} has a linked CRS (\"href\"), which GDAL would fetch: the "
                                "server reads GeoJSON with named CRSs only")
        if fmt.name != "OGR_VRT":
            return
        root = _parse_xml(path, what)
        if root.tag != "OGRVRTDataSource":
            raise SourceRefused(f"{what}: {path.name} is not an OGR VRT")
        for element in root.iter():
            if element.tag == "SrcSQL":
                raise SourceRefused(f"{what}: OGR VRT layers defined by SQL (SrcSQL) are not accepted")
            if element.tag == "OpenOptions":
                raise SourceRefused(f"{what}: OGR VRT open options are not accepted")
            if element.tag == "SrcDataSource":
                ref = self._reference(element, path, what)
                if not _is_url(ref):
                    self._vector_file(Path(ref), what, given=(element.text or "").strip(), depth=depth + 1,
                                      seen=seen | {path})

    # -- shared -------------------------------------------------------------------------------------
    def _format(self, path: Path, formats: Sequence[_Format], what: str, given: str) -> _Format:
        """The one format whose extension and first bytes ``path`` has, or ``SourceRefused``."""
        if not path.is_file():
            raise SourceRefused(f"{what}: {given} does not exist or is not a file")
        if _GTI_RE.search(path.name):
            raise SourceRefused(f"{what}: GDAL tile indexes (.gti…) are not accepted for server jobs")
        suffix = path.suffix.lower()
        head = _head(path)
        for fmt in formats:
            if suffix in fmt.extensions and _sniff(head, fmt):
                return fmt
        kinds = "rasters" if formats is _RASTER_FORMATS else "layers"
        raise SourceRefused(
            f"{what}: {given} is not one of the formats the server reads for jobs ({_accepted(formats)}, "
            f"with matching content); convert it, or send the {kinds} another way"
        )

    # -- outputs ------------------------------------------------------------------------------------
    def output(self, text: object) -> str:
        """A GeoPackage path to write: a new ``.gpkg`` file, or an existing GeoPackage (never any other
        file: a plain SQLite database would be rewritten)."""
        location = self.location(text, "output")
        if _is_url(location):
            raise SourceRefused("output: the server writes only local files")
        path = Path(location)
        if path.suffix.lower() != ".gpkg":
            raise SourceRefused(f"output: {text} must be a GeoPackage file name ending in .gpkg")
        if path.exists():
            if not path.is_file() or not is_geopackage_header(_head(path)):
                raise SourceRefused(f"output: {text} exists and is not a GeoPackage (no GeoPackage application "
                                    "id in its header): the server writes only new files or existing GeoPackages")
        elif not path.parent.is_dir():
            raise SourceRefused(f"output: the folder of {text} does not exist")
        return location


def _check_nesting(path: Path, what: str, given: str, depth: int, seen: frozenset[Path]) -> None:
    """VRTs referencing VRTs: refuse cycles and nesting deeper than ``MAX_VRT_DEPTH``."""
    if depth > MAX_VRT_DEPTH:
        raise SourceRefused(f"{what}: VRTs nested more than {MAX_VRT_DEPTH} deep")
    if path in seen:
        raise SourceRefused(f"{what}: the VRT {given} refers back to itself")


def _contains(path: Path, needle: bytes, chunk: int = 2**20) -> bool:
    """Whether the file holds ``needle`` anywhere (read in chunks: GeoJSON files can be large)."""
    tail = b""
    try:
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                if needle in tail + block:
                    return True
                tail = block[-len(needle):]
    except OSError:
        return False
    return False


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def _parse_xml(path: Path, what: str) -> ET.Element:
    """A VRT's XML root. Documents with a DTD are refused (entity expansion); so are huge ones."""
    try:
        size = path.stat().st_size
        if size > MAX_VRT_BYTES:
            raise SourceRefused(f"{what}: {path.name} is larger than {MAX_VRT_BYTES // 2**20} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceRefused(f"{what}: {path.name} cannot be read ({exc.strerror or exc})") from None
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise SourceRefused(f"{what}: {path.name} declares a DTD or entities, which are not accepted")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise SourceRefused(f"{what}: {path.name} is not well-formed XML ({exc})") from None
