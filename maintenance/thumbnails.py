"""Thumbnails of the photos attached to a ticket, for the Berita Acara (each beside its SHA-256).

    thumbnail(photo_jpeg)   -> (b"\\xff\\xd8...", "image/jpeg")   a photo stays a JPEG
    thumbnail(screenshot)   -> (b"\\x89PNG...", "image/png")      anything else becomes a PNG
    thumbnail(scan_pdf)     -> None                               listed with its hash only

The picture is turned upright as the camera's EXIF orientation says, then fits in MAX_PX by
MAX_PX, its proportions kept (never enlarged). Nothing of the original's metadata is carried
over (no EXIF, so no GPS position of the camera, no dates): the same content gives the same
bytes, so the report's hash is stable on one installation.

Only the still-picture formats a camera or a phone makes are opened (JPEG, PNG, GIF, WebP,
TIFF, BMP; the first frame of an animation); Pillow's other readers (EPS through Ghostscript,
and the like) are never tried on an attachment. A picture larger than Pillow's
decompression-bomb limit is no picture here (None), not an error.

Pillow is imported inside the functions: a CLI start must not pay for it.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

DEFAULT_MAX_PX = 320  # about 5.5 cm at 150 dpi: three abreast on an A4 page
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")
MODES = ("1", "L", "LA", "RGB", "RGBA")  # kept as they are; any other becomes RGBA
JPEG_QUALITY = 85
PNG, JPEG = "image/png", "image/jpeg"


def _opened(content: bytes, max_px: int) -> tuple[Image, str] | None:
    """CONTENT decoded, upright and fitted in MAX_PX, with its format; None if not a picture."""
    from PIL import Image as PILImage
    from PIL import ImageFile, ImageOps, UnidentifiedImageError

    # WeasyPrint sets this Pillow switch True for the whole process when it is imported (a
    # PDF made before, in the same process): a truncated photo would then decode as grey.
    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with PILImage.open(io.BytesIO(content), formats=FORMATS) as image:
            source = image.format or ""
            image.draft("RGB", (max_px, max_px))  # JPEG: decode at a fraction of the size
            upright = ImageOps.exif_transpose(image)
            if upright.mode not in MODES:  # a palette resizes coarsely; CMYK, 16-bit: no PNG
                upright = upright.convert("RGBA")
            upright.thumbnail((max_px, max_px), PILImage.Resampling.LANCZOS)
            return upright, source
    except (UnidentifiedImageError, PILImage.DecompressionBombError, OSError, ValueError):
        return None  # not a picture, a truncated one, or one too large to open safely
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def _as_jpeg(image: Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _as_png(image: Image) -> bytes:
    """PNG without text chunks or times: Pillow writes none unless given them."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def thumbnail(content: bytes, max_px: int = DEFAULT_MAX_PX) -> tuple[bytes, str] | None:
    """A thumbnail of CONTENT no larger than MAX_PX either way, and its media type
    (`image/jpeg` for a JPEG photo, `image/png` for any other picture); None when CONTENT is
    not a picture this module opens (a PDF scan, a text file, a damaged image)."""
    if max_px < 1:
        raise ValueError(f"max_px must be at least 1 (got {max_px})")
    opened = _opened(content, max_px)
    if opened is None:
        return None
    image, source = opened
    if source == "JPEG":
        return _as_jpeg(image), JPEG
    return _as_png(image), PNG


def data_uri(content: bytes, media_type: str) -> str:
    """CONTENT as a `data:` URI for an `<img src=...>` (the report holds no external resource)."""
    return f"data:{media_type};base64," + base64.b64encode(content).decode("ascii")
