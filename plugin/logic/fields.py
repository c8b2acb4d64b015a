"""The attributes of result layers as QGIS fields: the backend's output fields (its vocabulary), so live
layers and empty Processing outputs have the schema the backend writes."""

from __future__ import annotations

from qgis.core import QgsField, QgsFields
from qgis.PyQt.QtCore import QVariant

from ..toolbelt import vocabulary


def result_fields() -> QgsFields:
    """Every output field, as a double (``real``) or a string."""
    fields = QgsFields()
    for field in vocabulary.current().output_fields:
        fields.append(QgsField(field.name, QVariant.Double if field.type == "real" else QVariant.String))
    return fields
