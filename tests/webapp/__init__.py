"""Tests of the web app, webapp: in process, over HTTP and in headless Chromium."""
