"""The line under `scripts/class status`: the furthest step more than half of the class has done."""

from workshop.classweb import board as klass


def test_the_class_is_where_more_than_half_of_it_has_been():
    assert klass.most_reached([1, 2, 0]) == (1, 2)  # two of three have deployed, one of them scaled too
    assert klass.most_reached([0, 0, 1]) == (0, 2)
    assert klass.most_reached([6, 6, 6, 1]) == (6, 3)
    assert klass.most_reached([2, 2, 0, 0]) == (0, 2)  # half is not most
    assert klass.most_reached([]) == (0, 0)


def test_every_stage_names_a_box_of_the_deck_and_its_slide():
    slides = [klass._slide(box) for _, box in klass.STAGES]
    assert all(slide.isdigit() for slide in slides), slides
    assert [int(s) for s in slides] == sorted(int(s) for s in slides)  # in deck order
