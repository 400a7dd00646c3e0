"""The guided demo, `lineal demo [DIR]`: a small synthetic-data robotics story, recorded.

Needs the ``demo`` extra (usd-core, numpy, Pillow, scikit-learn); nothing here is imported by
``import lineal``. :mod:`lineal.demo.story` tells the story, :mod:`lineal.demo.scene` builds
the USD scene and randomization configs, ``render.py`` is the renderer script the generation
runs execute, :mod:`lineal.demo.learn` trains and evaluates the model.
"""
