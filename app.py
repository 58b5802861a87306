"""GANmut's web app, as a Hugging Face Space (``app_file: app.py``), Docker and ``python app.py`` run it.

The app is the ``webapp`` package; ``webapp.create_app()`` builds it from ``GANMUT_WEIGHTS``,
``GANMUT_CLASSIFIER`` and the ``GANMUT_*`` limits (see the README). Serves http://localhost:7860
(``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT`` are honoured).
"""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from webapp import create_app  # noqa: E402

if __name__ == "__main__":
    create_app().launch()
