"""Opening, validating and reading rasters (model_backend.raster.source) on the real test rasters."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin

from model_backend.errors import ConfigError, RasterError
from model_backend.raster import RasterImage, open_raster


# -- bad input --------------------------------------------------------------------------------------
def test_missing_path_names_file(tmp_path):
    path = tmp_path / "nope.tif"
    with pytest.raises(RasterError, match="does not exist") as err:
        open_raster(path)
    assert str(path) in str(err.value)


def test_not_a_raster(data_dir):
    with pytest.raises(RasterError, match="not a raster") as err:
        open_raster(data_dir / "README.md")
    assert "README.md" in str(err.value)


def test_corrupt_pixel_data_fails_at_open(data_dir):
    # The first blocks of corrupt.tif read fine; only the last tile is truncated.
    with pytest.raises(RasterError, match="cannot be read") as err:
        open_raster(data_dir / "corrupt.tif")
    msg = str(err.value)
    assert "corrupt.tif" in msg
    assert "See previous exception" not in msg  # the GDAL reason, not rasterio's placeholder


def test_all_nodata_is_refused(data_dir):
    with pytest.raises(RasterError, match="nodata") as err:
        open_raster(data_dir / "all-nodata.tif")
    assert "all-nodata.tif" in str(err.value)


def test_all_nodata_check_can_be_disabled(data_dir):
    with open_raster(data_dir / "all-nodata.tif", check_empty=False) as src:
        img = src.read((0, 0, 71, 100))
    assert not img.valid.any()
    assert not img.rgb.any()


@pytest.mark.parametrize("name", ["rotated.tif", "float_nan.tif"])
def test_no_crs_is_refused_by_default(data_dir, name):
    with pytest.raises(RasterError, match="no coordinate reference system") as err:
        open_raster(data_dir / name)
    assert name in str(err.value)
    assert "allow pixel coordinates" in str(err.value)


def test_no_crs_allowed_in_pixel_coordinates_is_flagged(data_dir):
    with rasterio.open(data_dir / "rotated.tif") as ds:
        own_transform = ds.transform
    with open_raster(data_dir / "rotated.tif", allow_pixel_coords=True) as src:
        assert not src.georeferenced
        assert src.crs is None and src.crs_string == ""
        assert src.transform == own_transform
        assert any("not georeferenced" in n for n in src.notes)


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_crs_without_geotransform_is_not_georeferenced(tmp_path):
    path = tmp_path / "crs_only.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8", crs="EPSG:32618"
    ) as ds:
        ds.write(np.full((1, 8, 8), 7, np.uint8))
    with pytest.raises(RasterError, match="no geotransform"):
        open_raster(path)
    with open_raster(path, allow_pixel_coords=True) as src:
        assert src.transform == Affine.identity() and not src.georeferenced


def test_gcp_only_raster_is_warped_and_georeferenced(data_dir):
    with open_raster(data_dir / "RGB.byte.gcp.vrt") as src:
        assert src.georeferenced
        assert src.crs_string == "EPSG:4326"
        assert not src.transform.is_identity
        assert any("ground control points" in n for n in src.notes)
        # The GCPs place the scene near 123.3 W, 49.2 N.
        left, bottom, right, top = src.grid.map_bounds()
        assert -124.0 < left < right < -122.5 and 48.5 < bottom < top < 50.0
        img = src.read()
    assert img.valid.any() and not img.valid.all()  # the warped footprint is a rotated quadrilateral
    assert not img.rgb[~img.valid].any()


def test_bad_stretch_mode_is_a_config_error(data_dir):
    with pytest.raises(ConfigError):
        open_raster(data_dir / "RGB.byte.tif", stretch="gamma")


# -- band choice ------------------------------------------------------------------------------------
def test_default_bands_follow_colour_interpretation(data_dir):
    with open_raster(data_dir / "RGBA.uint16.tif") as src:
        # bands are stored blue, green, red, alpha
        assert src.bands == (3, 2, 1)
    with open_raster(data_dir / "RGB.byte.tif") as src:
        assert src.bands == (1, 2, 3)


def test_default_bands_first_three_without_colour_interpretation(data_dir):
    with open_raster(data_dir / "naip_2009.tif") as src:
        assert src.bands == (1, 2, 3)


def test_single_band_repeated_as_grey(data_dir):
    with open_raster(data_dir / "rgb1_fake_nir_epsg3857.tif") as src:
        assert src.bands == (1, 1, 1)
        img = src.read()
    assert np.array_equal(img.rgb[..., 0], img.rgb[..., 1])
    assert np.array_equal(img.rgb[..., 0], img.rgb[..., 2])


def test_explicit_bands(data_dir):
    with rasterio.open(data_dir / "naip_2009.tif") as ds:
        raw = ds.read([4, 1, 2], window=((100, 140), (200, 260)))
    with open_raster(data_dir / "naip_2009.tif", bands=[4, 1, 2]) as src:
        img = src.read((200, 100, 60, 40))
    assert np.array_equal(np.moveaxis(img.rgb, -1, 0), raw)


def test_explicit_single_band(data_dir):
    with open_raster(data_dir / "naip_2009.tif", bands=[4]) as src:
        assert src.bands == (4, 4, 4)


@pytest.mark.parametrize("bands", [[0, 1, 2], [1, 2, 5]])
def test_band_out_of_range(data_dir, bands):
    with pytest.raises(RasterError, match="does not exist") as err:
        open_raster(data_dir / "naip_2009.tif", bands=bands)
    assert "bands 1 to 4" in str(err.value)


@pytest.mark.parametrize("bands", [[1, 2], [1, 2, 3, 4], [1.5, 2, 3]])
def test_band_count_or_type_is_a_config_error(data_dir, bands):
    with pytest.raises(ConfigError):
        open_raster(data_dir / "naip_2009.tif", bands=bands)


def test_palette_band_is_expanded(tmp_path):
    path = tmp_path / "palette.tif"
    data = np.zeros((1, 16, 16), np.uint8)
    data[0, :8] = 1
    data[0, 8:] = 2
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=16,
        height=16,
        count=1,
        dtype="uint8",
        crs="EPSG:32618",
        transform=from_origin(0, 160, 10, 10),
        photometric="palette",
    ) as ds:
        ds.write(data)
        ds.write_colormap(1, {0: (0, 0, 0, 0), 1: (255, 0, 0, 255), 2: (0, 0, 255, 255)})
    with open_raster(path) as src:
        assert src.band_choice.lut is not None
        img = src.read()
    assert (img.rgb[:8] == (255, 0, 0)).all()
    assert (img.rgb[8:] == (0, 0, 255)).all()
    assert img.valid.all()


# -- reads: masks and pass-through -----------------------------------------------------------------
def test_byte_raster_passes_through_with_nodata_masked(data_dir):
    with rasterio.open(data_dir / "RGB.byte.tif") as ds:
        raw = ds.read()
        masks = ds.read_masks()
    with open_raster(data_dir / "RGB.byte.tif") as src:
        assert src.stretch is None
        img = src.read()
    assert isinstance(img, RasterImage)
    assert img.rgb.shape == (718, 791, 3) and img.rgb.dtype == np.uint8
    assert img.valid.shape == (718, 791) and img.valid.dtype == bool
    expected_valid = (masks > 0).any(axis=0)
    assert np.array_equal(img.valid, expected_valid)
    assert 0.3 < img.valid.mean() < 0.9  # the scene has a wide nodata collar
    assert np.array_equal(np.moveaxis(img.rgb, -1, 0)[:, img.valid], raw[:, img.valid])
    assert not img.rgb[~img.valid].any()


def test_alpha_band_masks(data_dir):
    with rasterio.open(data_dir / "RGBA.uint16.tif") as ds:
        alpha = ds.read(4)
    with open_raster(data_dir / "RGBA.uint16.tif") as src:
        img = src.read()
    assert np.array_equal(img.valid, alpha > 0)
    assert not img.rgb[~img.valid].any()


def test_float_nan_is_masked_and_stretched(data_dir):
    with open_raster(data_dir / "float_nan.tif", allow_pixel_coords=True) as src:
        img = src.read()
    with rasterio.open(data_dir / "float_nan.tif") as ds:
        raw = ds.read(1)
    assert np.array_equal(img.valid, np.isfinite(raw))
    assert img.rgb[0, 2].tolist() == [0, 0, 0]
    # stretched in value order: the largest value is brightest, the smallest darkest
    vals = raw[img.valid]
    grey = img.rgb[..., 0][img.valid]
    assert grey[np.argmax(vals)] == 255 and grey[np.argmin(vals)] == 0
    assert np.all(np.diff(grey[np.argsort(vals)].astype(int)) >= 0)


def test_float_nan_without_nodata_is_masked(tmp_path):
    path = tmp_path / "nan.tif"
    data = np.arange(64, dtype=np.float32).reshape(1, 8, 8)
    data[0, 2, 3] = np.nan
    data[0, 5, 5] = np.inf
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=8,
        height=8,
        count=1,
        dtype="float32",
        crs="EPSG:3857",
        transform=from_origin(0, 80, 10, 10),
    ) as ds:
        ds.write(data)
    with open_raster(path) as src:
        img = src.read()
    assert not img.valid[2, 3] and not img.valid[5, 5]
    assert img.valid.sum() == 62


def test_read_window_and_out_shape(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        img = src.read((100, 200, 300, 150), out_shape=(75, 150))
    assert img.rgb.shape == (75, 150, 3)
    assert img.size == (150, 75)


def test_read_rejects_window_outside(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        with pytest.raises(ValueError):
            src.read((700, 0, 200, 10))


def test_read_refuses_huge_single_read(tmp_path):
    from model_backend.raster import MAX_READ_PIXELS

    path = tmp_path / "wide.tif"
    side = int(MAX_READ_PIXELS**0.5) + 256
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=side,
        height=side,
        count=1,
        dtype="uint8",
        tiled=True,
        compress="deflate",
        sparse_ok=True,
        nodata=0,
        crs="EPSG:3857",
        transform=from_origin(1000, 1000, 1, 1),
    ) as ds:
        ds.write(np.ones((1, 256, 256), np.uint8), window=((0, 256), (0, 256)))
    with open_raster(path) as src:
        with pytest.raises(RasterError, match="too large"):
            src.read()


def test_close_and_context_manager(data_dir):
    src = open_raster(data_dir / "RGB.byte.tif")
    assert not src.closed
    src.close()
    assert src.closed
    assert src.describe()["crs"] == "EPSG:32618"


def test_colour_interp_alpha_never_chosen(tmp_path):
    path = tmp_path / "la.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=2,
        dtype="uint8",
        crs="EPSG:3857",
        transform=from_origin(0, 40, 10, 10),
    ) as ds:
        ds.write(np.stack([np.full((4, 4), 9, np.uint8), np.full((4, 4), 255, np.uint8)]))
        ds.colorinterp = [ColorInterp.gray, ColorInterp.alpha]
    with open_raster(path) as src:
        assert src.bands == (1, 1, 1)
        assert (src.read().rgb == 9).all()


def test_alpha_respected_when_nodata_shadows_it(tmp_path):
    # GDAL builds masks from nodata and ignores alpha when both exist; alpha must still mask
    path = tmp_path / "rgba_nodata.tif"
    data = np.full((4, 10, 10), 50, np.uint8)
    data[3] = 255
    data[3, :, :4] = 0  # transparent columns with non-nodata colour values
    data[:3, 8:, :] = 0  # nodata rows (opaque)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=4,
        dtype="uint8",
        nodata=0,
        crs="EPSG:3857",
        transform=Affine(10, 0, 0, 0, -10, 100),
    ) as ds:
        ds.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    with rasterio.open(path, "r+") as ds:
        ds.write(data)
    with open_raster(path) as src:
        assert src.bands == (1, 2, 3)
        img = src.read()
    expected = np.ones((10, 10), bool)
    expected[:, :4] = False
    expected[8:, :] = False
    assert np.array_equal(img.valid, expected)
    assert not img.rgb[~img.valid].any()
