"""What GDAL/OGR may open for a server job: plain paths in the allowed folders, formats that reference no
other file, VRTs whose every source (nested too) obeys the same rules, URLs only under allowed prefixes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from model_backend.server.sources import SourcePolicy, SourceRefused, UrlPrefixes


@pytest.fixture
def folders(tmp_path, data_dir):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    shutil.copy(data_dir / "RGB.byte.tif", allowed / "scene.tif")
    shutil.copy(data_dir / "RGB.byte.tif", outside / "secret.tif")
    return allowed, outside, SourcePolicy([allowed])


def vrt(source: str, relative: bool = False, band_extra: str = "", root_extra: str = "") -> str:
    return (f'<VRTDataset rasterXSize="791" rasterYSize="718"{root_extra}><VRTRasterBand dataType="Byte" band="1"'
            f'{band_extra}><SimpleSource><SourceFilename relativeToVRT="{int(relative)}">{source}</SourceFilename>'
            "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>")


def ogr_vrt(source: str, extra: str = "") -> str:
    return (f'<OGRVRTDataSource><OGRVRTLayer name="roads"><SrcDataSource relativeToVRT="0">{source}</SrcDataSource>'
            f"{extra}</OGRVRTLayer></OGRVRTDataSource>")


def write_layer(path: Path) -> None:
    pyogrio.raw.write(str(path), shapely.to_wkb([shapely.Point(1, 2)]), [np.array(["a"], dtype=object)],
                      fields=["name"], geometry_type="Point", driver="GPKG", layer="pts", crs="EPSG:4326")


def test_plain_rasters_and_legitimate_vrts_pass(folders, data_dir):
    allowed, _outside, policy = folders
    assert policy.raster(str(allowed / "scene.tif")) == str((allowed / "scene.tif").resolve())
    shutil.copy(data_dir / "RGB.byte.gcp.vrt", allowed / "gcp.vrt")  # a real VRT, source beside it
    shutil.copy(data_dir / "RGB.byte.tif", allowed / "RGB.byte.tif")
    assert policy.raster(str(allowed / "gcp.vrt")).endswith("gcp.vrt")
    (allowed / "nested.vrt").write_text(vrt("gcp.vrt", relative=True))
    assert policy.raster(str(allowed / "nested.vrt")).endswith("nested.vrt")


@pytest.mark.parametrize("source", ["{outside}/secret.tif", "../outside/secret.tif", "/vsicurl/http://169.254.169.254/x",
                                    "http://example.com/x.tif", "/vsizip/{outside}/a.zip/x.tif", "GTI:{outside}/i.gpkg",
                                    "vrt://{outside}/secret.tif", "/etc/hostname"])
def test_vrt_sources_outside_the_rules_are_refused(folders, source):
    allowed, outside, policy = folders
    relative = source.startswith("..")
    (allowed / "evil.vrt").write_text(vrt(source.format(outside=outside), relative=relative))
    with pytest.raises(SourceRefused):
        policy.raster(str(allowed / "evil.vrt"))


def test_nested_vrt_pointing_outside_is_refused(folders):
    allowed, outside, policy = folders
    (allowed / "inner.vrt").write_text(vrt(str(outside / "secret.tif")))
    (allowed / "outer.vrt").write_text(vrt("inner.vrt", relative=True))
    with pytest.raises(SourceRefused, match="outside the server's allowed folders"):
        policy.raster(str(allowed / "outer.vrt"))
    (allowed / "loop.vrt").write_text(vrt("loop.vrt", relative=True))
    with pytest.raises(SourceRefused, match="refers back to itself"):
        policy.raster(str(allowed / "loop.vrt"))


def test_outside_references_are_refused_alike_whether_or_not_they_exist(folders):
    allowed, outside, policy = folders
    messages = []
    for name in ("secret.tif", "missing.tif"):
        (allowed / "probe.vrt").write_text(vrt(str(outside / name)))
        with pytest.raises(SourceRefused) as info:
            policy.raster(str(allowed / "probe.vrt"))
        messages.append(str(info.value).replace(name, "NAME"))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("kind", ["root subClass", "python", "open options", "raw outside", "dtd"])
def test_vrt_features_that_run_code_or_open_other_files_are_refused(folders, kind):
    allowed, outside, policy = folders
    text = {
        "root subClass": vrt("scene.tif", True, root_extra=' subClass="VRTWarpedDataset"'),
        "python": vrt("scene.tif", True, band_extra=' subClass="VRTDerivedRasterBand"').replace(
            "<SimpleSource>", "<PixelFunctionLanguage>Python</PixelFunctionLanguage><SimpleSource>"),
        "open options": vrt("scene.tif", True).replace(
            "<SourceBand>", "<OpenOptions><OOI key='PRELUDE_STATEMENTS'>ATTACH 'x'</OOI></OpenOptions><SourceBand>"),
        "raw outside": vrt(str(outside / "secret.tif"), band_extra=' subClass="VRTRawRasterBand"'),
        "dtd": '<!DOCTYPE x [<!ENTITY a "b">]>' + vrt("scene.tif", True),
    }[kind]
    (allowed / "odd.vrt").write_text(text)
    with pytest.raises(SourceRefused):
        policy.raster(str(allowed / "odd.vrt"))


@pytest.mark.parametrize("given", ["/vsicurl/http://127.0.0.1:1/x.tif", "http://127.0.0.1:1/x.tif", "file:///etc/hostname",
                                   "/vsizip/x.zip/a.tif", "/vsimem/x.tif", "GTI:{allowed}/i.gpkg", "vrt://{allowed}/scene.tif",
                                   "<VRTDataset/>", "{allowed}/scene.tif\x00.png", "{allowed}/../outside/secret.tif",
                                   "~root/x.tif", "/etc/hostname"])
def test_tricky_locations_are_refused(folders, given):
    allowed, _outside, policy = folders
    with pytest.raises(SourceRefused):
        policy.raster(given.format(allowed=allowed))


def test_symlink_out_of_an_allowed_folder_is_refused(folders):
    allowed, outside, policy = folders
    os.symlink(outside / "secret.tif", allowed / "link.tif")
    with pytest.raises(SourceRefused, match="outside"):
        policy.raster(str(allowed / "link.tif"))


def test_only_listed_formats_with_matching_content_pass(folders):
    allowed, _outside, policy = folders
    shutil.copy(allowed / "scene.tif", allowed / "scene.img")  # right content, unlisted extension
    (allowed / "fake.tif").write_bytes(b"<GDAL_WMS><Service name='TMS'/></GDAL_WMS>")  # a network description
    write_layer(allowed / "index.gti.gpkg")  # GDAL's tile index driver claims this name whatever it holds
    for name in ("scene.img", "fake.tif", "index.gti.gpkg"):
        with pytest.raises(SourceRefused):
            policy.raster(str(allowed / name))


def test_side_files_must_be_geotiffs(folders):
    allowed, outside, policy = folders
    (allowed / "scene.tif.ovr").write_text(vrt(str(outside / "secret.tif")))
    with pytest.raises(SourceRefused, match="side file"):
        policy.raster(str(allowed / "scene.tif"))


def test_ogr_vrt_context_layers_follow_the_same_rules(folders):
    allowed, outside, policy = folders
    write_layer(allowed / "roads.gpkg")
    write_layer(outside / "private.gpkg")
    assert policy.vector(f"{allowed / 'roads.gpkg'}|pts").endswith("roads.gpkg|pts")
    (allowed / "ok.vrt").write_text(ogr_vrt(str(allowed / "roads.gpkg")))
    assert policy.vector(str(allowed / "ok.vrt")).endswith("ok.vrt")
    messages = []
    for target in ("private.gpkg", "nothing.gpkg"):
        (allowed / "evil.vrt").write_text(ogr_vrt(str(outside / target)))
        with pytest.raises(SourceRefused) as info:
            policy.vector(str(allowed / "evil.vrt"))
        messages.append(str(info.value).replace(target, "NAME"))
    assert messages[0] == messages[1]  # nothing tells whether the outside file exists
    (allowed / "sql.vrt").write_text(ogr_vrt(str(allowed / "roads.gpkg"), "<SrcSQL>SELECT * FROM pts</SrcSQL>"))
    with pytest.raises(SourceRefused, match="SQL"):
        policy.vector(str(allowed / "sql.vrt"))


def test_geojson_with_a_linked_crs_is_refused(folders):
    allowed, _outside, policy = folders
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}
    (allowed / "plain.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [feature] * 3}))
    assert policy.vector(str(allowed / "plain.geojson")).endswith("plain.geojson")
    linked = {"type": "FeatureCollection", "features": [feature] * 3,  # the link after the features: found anyway
              "crs": {"type": "link", "properties": {"href": "http://127.0.0.1:9/crs", "type": "proj4"}}}
    (allowed / "linked.geojson").write_text(json.dumps(linked))
    with pytest.raises(SourceRefused, match="linked CRS"):
        policy.vector(str(allowed / "linked.geojson"))


def test_outputs_are_new_files_or_existing_geopackages(folders):
    allowed, outside, policy = folders
    assert policy.output(str(allowed / "new.gpkg")).endswith("new.gpkg")
    write_layer(allowed / "existing.gpkg")
    assert policy.output(str(allowed / "existing.gpkg")).endswith("existing.gpkg")
    with sqlite3.connect(allowed / "app.gpkg") as db:  # a plain SQLite database, named like a GeoPackage
        db.execute("create table secrets (x)")
    for bad in (allowed / "app.gpkg", allowed / "scene.tif", allowed / "notes.txt", outside / "new.gpkg",
                allowed / "missing" / "x.gpkg"):
        with pytest.raises(SourceRefused):
            policy.output(str(bad))


def test_url_prefixes_match_whole_segments_of_the_same_origin():
    prefixes = UrlPrefixes(["https://data.example.org/tiles/"])
    assert prefixes.allows("https://data.example.org/tiles/a/b.tif?sig=1")
    for url in ("https://data.example.org/tilesX/a.tif", "https://data.example.org.evil.net/tiles/a.tif",
                "http://data.example.org/tiles/a.tif", "https://data.example.org:8443/tiles/a.tif",
                "https://u:p@data.example.org/tiles/a.tif", "https://data.example.org/tiles/../admin/x",
                "https://data.example.org/tiles/%2e%2e/admin/x"):
        assert not prefixes.allows(url), url
    policy = SourcePolicy([], ["https://data.example.org/tiles/"])
    assert policy.raster("/vsicurl/https://data.example.org/tiles/a.tif") == "/vsicurl/https://data.example.org/tiles/a.tif"
    with pytest.raises(SourceRefused, match="--allow-url"):
        SourcePolicy([]).raster("https://data.example.org/tiles/a.tif")
    with pytest.raises(ValueError):
        UrlPrefixes(["ftp://x/"])


def test_stac_items_pass_only_when_every_asset_they_would_read_does(folders):
    allowed, outside, _policy = folders
    policy = SourcePolicy([allowed], ["https://data.example.org/scenes/"])

    def item(**hrefs):
        return json.dumps({"type": "Feature", "assets": {k: {"href": v, "roles": [k]} for k, v in hrefs.items()}})

    (allowed / "local.json").write_text(item(visual="scene.tif"))  # relative to the item
    assert policy.raster(str(allowed / "local.json")).endswith("local.json")
    (allowed / "remote.json").write_text(item(visual="https://data.example.org/scenes/a.tif"))
    assert policy.raster(str(allowed / "remote.json")).endswith("remote.json")
    for name, href, reason in (("out.json", str(outside / "secret.tif"), "allowed folders"),
                               ("url.json", "https://elsewhere.example.org/a.tif", "--allow-url"),
                               ("vrt.json", "scene.vrt", "refers to .*allowed folders")):
        (allowed / "scene.vrt").write_text(vrt(str(outside / "secret.tif")))
        (allowed / name).write_text(item(visual=href))
        with pytest.raises(SourceRefused, match=f"STAC asset 'visual'.*{reason}"):
            policy.raster(str(allowed / name))
    shutil.copy(allowed / "local.json", outside / "item.json")
    with pytest.raises(SourceRefused, match="allowed folders"):
        policy.raster(str(outside / "item.json"))
    # while a job runs: an item is only parsed by the backend; what GDAL opens obeys the format rules
    assert policy.guard(str(allowed / "local.json"), "item", "raster").endswith("local.json")
    with pytest.raises(SourceRefused, match="formats the server reads"):
        policy.guard(str(allowed / "local.json"), "raster", "raster")
    assert policy.guard("https://data.example.org/scenes/b.tif", "raster", "x") == "https://data.example.org/scenes/b.tif"
    with pytest.raises(SourceRefused, match="--allow-url"):
        policy.guard("https://data.example.org/other/b.tif", "raster", "x (redirected)")
