# Serves the GANmut app on port 7860, on CPU, with the bundled weights inside the image.
#   docker build -t ganmut . && docker run --rm -p 7860:7860 ganmut
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False

WORKDIR /app
COPY requirements.txt .
# CPU-only torch wheels keep the image small; the versions match requirements.txt.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.14.1 torchvision==0.29.1 \
 && pip install -r requirements.txt

COPY ganmut/ ganmut/
COPY weights/ weights/
COPY assets/ assets/
COPY webapp/ webapp/
COPY app.py .

RUN useradd --create-home app && chown -R app /app
USER app
EXPOSE 7860
CMD ["python", "app.py"]
