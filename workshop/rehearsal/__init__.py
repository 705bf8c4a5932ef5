"""Running the deck's boxes for real: the rehearsal engine, the one pseudo-terminal driver, cleanup
afterwards, recordings, and the replay shell that plays them back."""
