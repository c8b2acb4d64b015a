"""End-to-end runs: raster -> tiles -> prompts -> engine -> parsed geometry -> merge -> map -> vector."""
