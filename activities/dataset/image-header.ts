/**
 * Image type, dimensions and a few structural facts read from file headers — PNG (IHDR), JPEG
 * (SOF markers), GIF (logical screen) and WebP (VP8 / VP8L / VP8X) — without decoding pixels.
 */
import type { ImageFormat, ImageMetadata } from '../../workflows/jobs/dataset-build-contracts';

export interface ImageInfo {
  format: ImageFormat;
  mimeType: string;
  width: number;
  height: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MIME: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

const ascii = (b: Buffer, from: number, to: number): string => b.toString('latin1', from, to);

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
const isSof = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

interface JpegSegment {
  marker: number;
  /** Offset of the segment's payload (after the length field). */
  at: number;
  length: number;
}

/** Marker segments up to the first SOF (inclusive) or SOS; null when the structure is broken. */
function jpegSegments(b: Buffer): JpegSegment[] | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  const out: JpegSegment[] = [];
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) return null;
    while (i < b.length && b[i] === 0xff) i++; // fill bytes
    if (i >= b.length) return null;
    const marker = b[i++];
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // no length
    if (marker === 0xd9) return null; // EOI before any frame
    if (i + 2 > b.length) return null;
    const length = b.readUInt16BE(i);
    if (length < 2 || i + length > b.length) return null;
    out.push({ marker, at: i + 2, length: length - 2 });
    if (isSof(marker) || marker === 0xda) return out;
    i += length;
  }
  return null;
}

function pngChunks(b: Buffer): { type: string; at: number; length: number }[] {
  const out: { type: string; at: number; length: number }[] = [];
  let i = 8;
  while (i + 8 <= b.length) {
    const length = b.readUInt32BE(i);
    const type = ascii(b, i + 4, i + 8);
    out.push({ type, at: i + 8, length });
    if (type === 'IDAT' || type === 'IEND') break;
    i += 12 + length;
  }
  return out;
}

/** The image's format and dimensions, or null when `b` does not start like a supported image. */
export function readImageHeader(b: Buffer): ImageInfo | null {
  const info = (format: ImageFormat, width: number, height: number): ImageInfo => ({
    format,
    mimeType: MIME[format],
    width,
    height,
  });
  if (b.length >= 24 && b.subarray(0, 8).equals(PNG_SIGNATURE) && ascii(b, 12, 16) === 'IHDR') {
    return info('png', b.readUInt32BE(16), b.readUInt32BE(20));
  }
  if (b.length >= 10 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) {
    return info('gif', b.readUInt16LE(6), b.readUInt16LE(8));
  }
  if (b.length >= 30 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') {
    const chunk = ascii(b, 12, 16);
    if (chunk === 'VP8 ' && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
      return info('webp', b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff);
    }
    if (chunk === 'VP8L' && b[20] === 0x2f) {
      const bits = b.readUInt32LE(21);
      return info('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
    }
    if (chunk === 'VP8X') return info('webp', b.readUIntLE(24, 3) + 1, b.readUIntLE(27, 3) + 1);
    return null;
  }
  const segments = jpegSegments(b);
  const sof = segments?.find((s) => isSof(s.marker));
  if (sof && sof.length >= 6) return info('jpeg', b.readUInt16BE(sof.at + 3), b.readUInt16BE(sof.at + 1));
  return null;
}

/** Frames of a GIF, counted by walking its blocks; null if the structure is broken. */
function gifFrames(b: Buffer): number | null {
  let i = 13;
  const flags = b[10];
  if (flags & 0x80) i += 3 * 2 ** ((flags & 0x07) + 1);
  let frames = 0;
  const skipSubBlocks = (): boolean => {
    while (i < b.length) {
      const n = b[i++];
      if (n === 0) return true;
      i += n;
    }
    return false;
  };
  while (i < b.length) {
    const block = b[i++];
    if (block === 0x3b) return frames; // trailer
    if (block === 0x21) {
      i++; // label
      if (!skipSubBlocks()) return null;
    } else if (block === 0x2c) {
      frames++;
      const local = b[i + 8];
      i += 9;
      if (local & 0x80) i += 3 * 2 ** ((local & 0x07) + 1);
      i++; // LZW minimum code size
      if (!skipSubBlocks()) return null;
    } else {
      return null;
    }
  }
  return frames > 0 ? frames : null; // no trailer: truncated, but frames were seen
}

/** Structural facts of an image whose header {@link readImageHeader} accepted. */
export function readImageMetadata(b: Buffer, format: ImageFormat): ImageMetadata {
  switch (format) {
    case 'png': {
      const colorType = b[25];
      const chunks = pngChunks(b);
      const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType] ?? null;
      return {
        bitDepth: b[24],
        colorType,
        channels,
        palette: colorType === 3,
        hasAlpha: colorType === 4 || colorType === 6 || chunks.some((c) => c.type === 'tRNS'),
        interlaced: b[28] === 1,
        animated: chunks.some((c) => c.type === 'acTL'),
      };
    }
    case 'jpeg': {
      const segments = jpegSegments(b) ?? [];
      const sof = segments.find((s) => isSof(s.marker));
      const app = (marker: number, tag: string) =>
        segments.some((s) => s.marker === marker && ascii(b, s.at, s.at + tag.length) === tag);
      return {
        bitDepth: sof ? b[sof.at] : null,
        channels: sof ? b[sof.at + 5] : null,
        progressive: sof ? [0xc2, 0xc6, 0xca, 0xce].includes(sof.marker) : false,
        jfif: app(0xe0, 'JFIF\0'),
        exif: app(0xe1, 'Exif\0'),
      };
    }
    case 'gif': {
      const frames = gifFrames(b);
      return {
        version: ascii(b, 3, 6),
        globalColorTable: (b[10] & 0x80) !== 0,
        frames,
        animated: frames !== null && frames > 1,
      };
    }
    case 'webp': {
      const chunk = ascii(b, 12, 16);
      const flags = chunk === 'VP8X' ? b[20] : 0;
      return {
        variant: chunk === 'VP8 ' ? 'lossy' : chunk === 'VP8L' ? 'lossless' : 'extended',
        hasAlpha: chunk === 'VP8L' ? ((b.readUInt32LE(21) >>> 28) & 1) === 1 : (flags & 0x10) !== 0,
        animated: (flags & 0x02) !== 0,
      };
    }
  }
}
