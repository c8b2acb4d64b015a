"""One runner per task, chosen from a dispatch table (``runners.RUNNERS``): object tasks (detection,
segmentation, change, counting), whole-image text tasks (caption, question, geolocation), per-tile scene
classification and region captions. Each takes the ``RunContext`` of one run."""
