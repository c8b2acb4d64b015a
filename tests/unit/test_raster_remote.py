"""Rasters read by URL from a loopback HTTP server with range support: what an open and a read fetch, STAC
items (files and URLs, a visual asset or red/green/blue band assets), the source guard on every location
and redirect, and errors that name the problem without leaking a signed URL's query string."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.io import MemoryFile

from model_backend.errors import ConfigError, RasterError
from model_backend.raster import open_raster
from model_backend.raster.remote import redact, scrub, source_guard
from model_backend.raster.stac import choose_assets, item_assets
from tests.helpers.range_server import RangeServer, parse_ranges
from tests.helpers.remote_rasters import band_asset, band_cogs, scene_cog, stac_item, visual_asset

SECRET = "signature=deadbeef"  # (not X-Amz-Signature: GDAL makes no HEAD request for those, see README)


@pytest.fixture(scope="module")
def served():
    red, green, blue = band_cogs()
    files = {"/data/scene.tif": scene_cog(), "/data/red.tif": red, "/data/green.tif": green, "/data/blue.tif": blue,
             "/data/page.html": b"<html>not a raster</html>"}
    with RangeServer(files) as server:
        yield server


def test_redact_and_scrub_drop_credentials_and_query_strings():
    assert redact(f"https://user:pw@host.example:8443/a/b.tif?{SECRET}#x") == "https://host.example:8443/a/b.tif?…"
    assert redact("/vsicurl/http://h/x.tif") == "http://h/x.tif"
    text = f"'/vsicurl/https://h/x.tif?{SECRET}' not recognized; see http://other/y?token=1 too"
    assert SECRET not in scrub(text) and "token=1" not in scrub(text)
    assert "https://h/x.tif?…" in scrub(text) and "http://other/y?…" in scrub(text)


def test_range_parsing_of_the_test_server():
    assert parse_ranges("bytes=0-9", 100) == [(0, 9)]
    assert parse_ranges("bytes=90-", 100) == [(90, 99)] and parse_ranges("bytes=-5", 100) == [(95, 99)]
    assert parse_ranges("bytes=0-1,10-19", 100) == [(0, 1), (10, 19)]
    assert parse_ranges("bytes=200-300", 100) is None and parse_ranges("lines=1-2", 100) is None


def test_open_fetches_the_header_and_a_small_overview_only(served):
    size = len(served.files["/data/scene.tif"])
    served.reset_counts()
    with open_raster(served.url("data/scene.tif") + "?" + SECRET) as source:
        opened = served.bytes_served()
        assert (source.width, source.height) == (2048, 2048) and source.crs is not None
        assert SECRET not in source.path and source.path.endswith("/data/scene.tif?…")
        assert source.sample_how.startswith("decimated read") and "overview" in source.sample_how
    # no side files (.ovr, .aux.xml, .msk) and no directory listing: every request is for the COG itself
    assert {r.path.split("?")[0] for r in served.requests()} == {"/data/scene.tif"}
    assert opened < 0.05 * size, (opened, size)


def test_a_small_window_fetches_a_small_part_of_the_file(served):
    size = len(served.files["/data/scene.tif"])
    url = served.url("data/scene.tif")
    with open_raster(url) as source:
        served.reset_counts()
        image = source.read((1024, 1024, 256, 256))
        fetched = served.bytes_served()
    assert image.rgb.shape == (256, 256, 3) and image.valid.all()
    assert all(r.status == 206 for r in served.requests())  # range requests only
    assert fetched < 0.05 * size, (fetched, size)  # one 256-px block of 64, plus GDAL's read granularity
    # and the pixels are the file's own
    with MemoryFile(served.files["/data/scene.tif"]) as mem, mem.open() as local:
        expected = local.read(window=((1024, 1280), (1024, 1280)))
    assert np.array_equal(image.rgb.transpose(2, 0, 1), expected)


def test_stac_item_file_with_band_assets_reads_them_as_one_rgb_raster(served, tmp_path):
    item = stac_item({"B04": band_asset(served.url("data/red.tif"), "red", "B04"),
                      "B03": band_asset(served.url("data/green.tif"), "green", "B03"),
                      "B02": band_asset(served.url("data/blue.tif"), "blue", "B02"),
                      "B08": band_asset(served.url("data/red.tif"), "nir", "B08")})
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))
    with open_raster(str(path)) as source:
        assert "STAC assets B04, B03, B02" in source.path
        image = source.read((100, 200, 300, 150))
    expected = np.stack([_local(served, name).read(1, window=((200, 350), (100, 400)))
                         for name in ("red", "green", "blue")], axis=-1)
    assert np.array_equal(image.rgb, expected)
    # named by band common name or key, in any order the caller wants
    with open_raster(str(path), assets=["blue", "green", "red"]) as source:
        swapped = source.read((100, 200, 300, 150))
    assert np.array_equal(swapped.rgb, expected[:, :, ::-1])
    with open_raster(str(path), assets=["B08"]) as source:  # one asset: a (grey) picture of its own
        assert source.bands == (1, 1, 1)


def test_stac_item_served_with_a_relative_visual_href(served):
    served.files["/items/scene.json"] = json.dumps(stac_item(
        {"thumbnail": {"href": "../data/page.html", "type": "text/html", "roles": ["thumbnail"]},
         "visual": visual_asset("../data/scene.tif")})).encode()
    served.files["/items/noext"] = served.files["/items/scene.json"]  # a STAC API item URL has no .json
    for name in ("items/scene.json", "items/noext"):
        with open_raster(served.url(name)) as source:
            assert source.width == 2048 and "(STAC assets visual)" in source.path


def _local(served, name):
    return MemoryFile(served.files[f"/data/{name}.tif"]).open()


def test_asset_choice_rules():
    visual = {"href": "v.tif", "type": "image/tiff; application=geotiff", "roles": ["visual"]}
    bands = {k: band_asset(f"{k}.tif", c, k) for k, c in (("B4", "red"), ("B3", "green"), ("B2", "blue"))}
    assert choose_assets(stac_item({"v": visual, **bands}), None, "i") == ["v"]
    assert choose_assets(stac_item(bands), None, "i") == ["B4", "B3", "B2"]
    assert choose_assets(stac_item({"red": {"href": "r.tif"}, "green": {"href": "g.tif"},
                                    "blue": {"href": "b.tif"}}), None, "i") == ["red", "green", "blue"]
    assert choose_assets(stac_item({"x": {"href": "x.tif", "roles": ["data"]}}), None, "i") == ["x"]
    with pytest.raises(RasterError, match="no RGB picture.*B4 \\(image/tiff, data, red\\)"):
        choose_assets(stac_item({"B4": bands["B4"]}), None, "i")
    with pytest.raises(RasterError, match="no asset 'nir'"):
        choose_assets(stac_item(bands), ["nir"], "i")
    with pytest.raises(ConfigError, match="one STAC asset.*or three"):
        choose_assets(stac_item(bands), ["B4", "B3"], "i")
    jp2 = stac_item({"visual": {"href": "TCI.jp2", "type": "image/jp2", "roles": ["visual"]}})
    with pytest.raises(RasterError, match="only GeoTIFF"):
        item_assets(jp2, "/tmp/item.json", ["visual"])
    assert item_assets(stac_item(bands, self_href="https://h/items/x.json"), "/tmp/i.json")[0].href == "https://h/items/B4.tif"


def test_not_a_raster_missing_and_refused_urls_give_clear_errors(served, tmp_path):
    with pytest.raises(RasterError, match="neither a GeoTIFF nor a STAC item"):
        open_raster(served.url("data/page.html"))
    with pytest.raises(RasterError, match=r"/data/gone.tif\?… answered HTTP 404") as missing:
        open_raster(served.url("data/gone.tif") + "?" + SECRET)
    assert SECRET not in str(missing.value)
    with pytest.raises(ConfigError, match="not a STAC item"):
        open_raster(served.url("data/scene.tif"), assets=["visual"])
    collection = tmp_path / "search.json"
    collection.write_text(json.dumps({"type": "FeatureCollection", "features": [stac_item({})] * 3}))
    with pytest.raises(RasterError, match="collection of 3 STAC items"):
        open_raster(str(collection))


def test_band_assets_on_different_grids_are_refused(served, tmp_path):
    served.files["/data/small.tif"] = band_cogs(side=512)[0]
    item = stac_item({"red": {"href": served.url("data/small.tif")}, "green": {"href": served.url("data/green.tif")},
                      "blue": {"href": served.url("data/blue.tif")}})
    (tmp_path / "mixed.json").write_text(json.dumps(item))
    with pytest.raises(RasterError, match="red and green lie on different grids"):
        open_raster(str(tmp_path / "mixed.json"))


def _only(prefix: str):
    def guard(location: str, kind: str, what: str) -> str:
        if not location.startswith(prefix):
            raise PermissionError(f"{what}: {redact(location) if '://' in location else location} is not allowed")
        return location
    return guard


def test_the_guard_sees_every_location_asset_and_redirect(served, tmp_path):
    allowed = served.url("data/")
    served.redirects["/data/moved.tif"] = served.url("other/scene.tif")
    served.redirects["/data/inside.tif"] = served.url("data/scene.tif")
    with source_guard(_only(allowed)):
        with open_raster(served.url("data/inside.tif")) as source:  # a redirect that stays inside is followed
            assert source.path.endswith("/data/scene.tif")
        with pytest.raises(RasterError, match="redirected.*not allowed"):
            open_raster(served.url("data/moved.tif"))
        with pytest.raises(RasterError, match="not allowed"):
            open_raster(served.url("elsewhere/scene.tif"))
        item = tmp_path / "item.json"
        item.write_text(json.dumps(stac_item({"visual": visual_asset(served.url("elsewhere/scene.tif"))})))
        with pytest.raises(RasterError, match="not allowed"):  # the item file itself is outside the prefix too
            open_raster(str(item))
    seen = []

    def record(location, kind, what):
        seen.append((kind, location))
        return location

    with source_guard(record):
        item.write_text(json.dumps(stac_item({"visual": visual_asset("../x/scene.tif")},
                                             self_href=served.url("data/items/item.json"))))
        served.files["/data/x/scene.tif"] = served.files["/data/scene.tif"]
        open_raster(str(item)).close()
    assert seen == [("item", str(item)), ("raster", served.url("data/x/scene.tif"))]


def test_a_server_gone_mid_read_is_a_clear_error(tmp_path):
    with RangeServer({"/scene.tif": scene_cog()}) as server:
        source = open_raster(server.url("scene.tif") + "?" + SECRET)
        source.read((0, 0, 256, 256))
        server.kill()
        with pytest.raises(RasterError) as caught:
            source.read((1536, 1536, 256, 256))
        source.close()
    message = str(caught.value)
    assert "cannot read pixels in window col 1536, row 1536" in message and "over HTTP" in message
    assert "cannot be reached" in message and "refused" in message.lower()
    assert SECRET not in message


def test_local_files_open_as_before(data_dir):
    with open_raster(str(data_dir / "naip_2020.tif")) as source, rasterio.open(data_dir / "naip_2020.tif") as ds:
        assert source.path == str(data_dir / "naip_2020.tif") and source.urls == []
        assert (source.width, source.height) == (ds.width, ds.height)
