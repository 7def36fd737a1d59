"""A brand's look on the member pages: its logo (png/jpg/svg/webp, at most 200 KB) and colour."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from stores.models import DEFAULT_BRAND_COLOUR, Brand


@pytest.mark.parametrize("colour", ["#0F766E", "#abcdef"])
def test_hex_colours_are_accepted(colour, db):
    Brand(code="B1", name="Phở", colour=colour).full_clean()


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "0F766E", "#GG0000", "#fff;}body{"])
def test_anything_else_is_refused(colour, db):
    with pytest.raises(ValidationError) as caught:
        Brand(code="B1", name="Phở", colour=colour).full_clean()
    assert "colour" in caught.value.message_dict


def test_the_default_colour_is_valid(db):
    brand = Brand(code="B1", name="Phở")
    brand.full_clean()
    assert brand.colour == DEFAULT_BRAND_COLOUR


def test_logos_are_images_of_at_most_200_kb(db):
    ok = SimpleUploadedFile("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/svg+xml")
    Brand(code="B1", name="Phở", logo=ok).full_clean()
    too_big = SimpleUploadedFile("logo.png", b"x" * (200 * 1024 + 1), content_type="image/png")
    with pytest.raises(ValidationError) as caught:
        Brand(code="B2", name="Phở", logo=too_big).full_clean()
    assert "logo" in caught.value.message_dict
    script = SimpleUploadedFile("logo.html", b"<script>", content_type="text/html")
    with pytest.raises(ValidationError):
        Brand(code="B3", name="Phở", logo=script).full_clean()
    assert not Brand.objects.exists()
