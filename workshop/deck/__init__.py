"""The deck: the one reader of slides.md and the hidden rehearsal directives under its boxes."""
