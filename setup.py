"""Build hook: the report notebooks in ``notebooks/`` are shipped inside the package.

Everything else about the package is in ``pyproject.toml``. Building (``pip wheel .``,
``python -m build``) copies ``notebooks/*.ipynb`` to ``mognad/notebooks/`` in the wheel, where
``mognad.report.jobs`` finds them with ``importlib.resources`` when mognad is installed without
the repository (a checkout keeps using ``notebooks/`` itself).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithNotebooks(build_py):
    """``build_py`` that also copies the report notebooks into the built package."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "mognad" / "notebooks"
        self.mkpath(str(target))
        for notebook in sorted((HERE / "notebooks").glob("*.ipynb")):
            self.copy_file(str(notebook), str(target / notebook.name))


setup(cmdclass={"build_py": BuildWithNotebooks})
