"""The demo web app (Gradio) for every model of the zoo: ``python app.py --name RUN``.

core.py holds the loaded run and the image helpers, pages.py one page per model family (request functions +
layout, selected through the PAGES registry), server.py builds and launches the app.
"""
