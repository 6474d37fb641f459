"""ipywidgets front ends: collect inputs, call the library, draw. No analysis here."""
