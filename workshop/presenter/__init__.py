"""The presenter's cockpit: the live deck publishes which slide is on screen (live.py, deck_hook.py),
scripts/notes shows that slide's speaker notes, the pace against the deck's time budget and the last
rehearsal's timings in a second terminal (view.py, plan.py, timings.py), and scripts/catch-up runs
the boxes before a slide with the rehearsal engine to bring the machine to where that slide starts
(catch_up.py)."""
