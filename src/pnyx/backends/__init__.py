"""Where jobs really run, behind one Protocol (:mod:`pnyx.backends.base`)."""
