"""Translations: ``tr()`` for every user-visible string, and the translator installed at load.

``pylupdate5`` files plain ``tr("...")`` calls under the context ``@default``, so ``tr`` translates in
that context; the ``.qm`` files are built from ``i18n/georsmllm_<locale>.ts`` by ``scripts/translations.sh``.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

CONTEXT = "@default"
I18N_DIR = Path(__file__).resolve().parents[2] / "i18n"


def tr(text: str) -> str:
    """``text`` in the user's language when a translation is installed."""
    return QCoreApplication.translate(CONTEXT, text)


def user_locale() -> str:
    """QGIS's interface locale (``locale/userLocale``, e.g. ``zh_CN`` or ``en_US``)."""
    value = QgsSettings().value("locale/userLocale", "") or QLocale.system().name()
    return str(value)


def qm_path(locale: str, folder: Path = I18N_DIR) -> Path | None:
    """The compiled translation for ``locale`` (``zh_CN``, then ``zh``), or ``None``."""
    for name in (locale, locale.split("_")[0]):
        path = folder / f"georsmllm_{name}.qm"
        if name and path.is_file():
            return path
    return None


def install_translator(locale: str | None = None) -> QTranslator | None:
    """Load and install the translator for ``locale`` (default: QGIS's); ``None`` when there is none.
    Keep the returned object and pass it to ``remove_translator`` at unload."""
    path = qm_path(locale or user_locale())
    if path is None:
        return None
    translator = QTranslator()
    if not translator.load(str(path)):
        return None
    QCoreApplication.installTranslator(translator)
    return translator


def remove_translator(translator: QTranslator | None) -> None:
    if translator is not None:
        QCoreApplication.removeTranslator(translator)
