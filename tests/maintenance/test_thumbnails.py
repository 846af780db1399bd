"""Thumbnails of a ticket's photos for the Berita Acara: pictures made here with Pillow (a JPEG
photo with an EXIF orientation, a PNG with transparency, a palette GIF), and contents that are
no picture (a PDF scan, PostScript, text, a truncated JPEG)."""

from __future__ import annotations

import base64
import io
import struct

import pytest
from PIL import Image

from pelihara.maintenance.thumbnails import data_uri, thumbnail

RED, BLUE = (255, 0, 0), (0, 0, 255)
ORIENTATION = 0x0112  # EXIF tag
ROTATE_90_CW = 6  # "the picture must be turned 90 degrees clockwise to be upright"


def _jpeg(size: tuple[int, int], orientation: int | None = None) -> bytes:
    """A JPEG whose left half is red and right half blue, with EXIF (camera, orientation)."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "Kamera Uji"  # Make
    if orientation is not None:
        exif[ORIENTATION] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _opened(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def _png_chunks(content: bytes) -> list[bytes]:
    """The chunk types of a PNG, in order."""
    chunks, at = [], 8
    while at < len(content):
        (length,) = struct.unpack(">I", content[at : at + 4])
        chunks.append(content[at + 4 : at + 8])
        at += 12 + length
    return chunks


def test_a_photo_becomes_a_small_jpeg_in_its_proportions_without_its_exif() -> None:
    made = thumbnail(_jpeg((1200, 800)))
    assert made is not None
    content, media_type = made
    assert media_type == "image/jpeg"
    small = _opened(content)
    assert (small.format, small.size) == ("JPEG", (320, 213))
    assert len(small.getexif()) == 0  # no camera, no GPS, no date carried over
    assert small.getpixel((10, 100))[0] > 200 and small.getpixel((310, 100))[2] > 200


def test_the_exif_orientation_is_honoured() -> None:
    made = thumbnail(_jpeg((400, 200), ROTATE_90_CW), max_px=100)
    assert made is not None
    upright = _opened(made[0])
    assert upright.size == (50, 100)  # the landscape sensor picture, turned to portrait
    top, bottom = upright.getpixel((25, 10)), upright.getpixel((25, 90))
    assert top[0] > 200 and top[2] < 80  # the left (red) half turned to the top
    assert bottom[2] > 200 and bottom[0] < 80


def test_a_png_stays_a_png_with_its_transparency_and_is_never_enlarged() -> None:
    image = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    image.paste((0, 128, 0, 255), (0, 0, 50, 50))
    made = thumbnail(_png(image))
    assert made is not None
    small = _opened(made[0])
    assert made[1] == "image/png" and small.size == (100, 50) and small.mode == "RGBA"
    assert small.getpixel((90, 10))[3] == 0 and small.getpixel((10, 10)) == (0, 128, 0, 255)


def test_a_palette_gif_becomes_a_png() -> None:
    image = Image.new("P", (640, 640), 1)
    image.putpalette([0, 0, 0, 255, 255, 0] + [0] * 762)
    buffer = io.BytesIO()
    image.save(buffer, format="GIF")
    made = thumbnail(buffer.getvalue())
    assert made is not None and made[1] == "image/png"
    small = _opened(made[0])
    assert small.size == (320, 320) and small.convert("RGB").getpixel((5, 5)) == (255, 255, 0)


def test_the_same_content_gives_the_same_bytes_and_the_png_holds_no_time_or_text() -> None:
    photo, picture = _jpeg((900, 600), ROTATE_90_CW), _png(Image.new("RGB", (700, 300), RED))
    assert thumbnail(photo) == thumbnail(photo)
    made = thumbnail(picture)
    assert made is not None and made == thumbnail(picture)
    assert set(_png_chunks(made[0])) <= {b"IHDR", b"IDAT", b"IEND", b"PLTE", b"pHYs"}


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        b"Berita acara, ditulis tangan dan dipindai\n",
        b"",
    ],
    ids=["pdf-scan", "postscript", "text", "empty"],
)
def test_what_is_not_a_picture_has_no_thumbnail(content: bytes) -> None:
    assert thumbnail(content) is None


def test_a_truncated_photo_has_no_thumbnail() -> None:
    photo = _jpeg((1200, 800))
    assert thumbnail(photo[: len(photo) // 3]) is None


def test_a_size_below_one_pixel_is_refused() -> None:
    with pytest.raises(ValueError, match="max_px must be at least 1"):
        thumbnail(_jpeg((10, 10)), max_px=0)


def test_the_data_uri_carries_the_thumbnail_whole() -> None:
    made = thumbnail(_jpeg((50, 50)))
    assert made is not None
    uri = data_uri(*made)
    assert uri.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == made[0]


def test_a_truncated_photo_has_no_thumbnail_after_a_pdf_was_made_in_the_process() -> None:
    """WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on when imported (a report or form
    made as PDF before, in the same process): a thumbnail still refuses half a photo."""
    from PIL import ImageFile

    from pelihara.maintenance.documents.render import html_to_pdf

    assert html_to_pdf("<p>x</p>").startswith(b"%PDF-")
    assert ImageFile.LOAD_TRUNCATED_IMAGES  # what WeasyPrint does to the process
    photo = _jpeg((1200, 800))
    assert thumbnail(photo[: len(photo) // 3]) is None
    assert ImageFile.LOAD_TRUNCATED_IMAGES  # left as WeasyPrint wants it
