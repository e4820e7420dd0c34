import { readImageHeader, readImageMetadata } from '../../activities/dataset/image-header';
import { gifImage, jpegImage, pngImage, webpImage } from '../pipeline-fixtures';

describe('readImageHeader', () => {
  it('reads type and dimensions of PNG, JPEG, GIF and WebP from their headers', () => {
    expect(readImageHeader(pngImage(33, 17))).toEqual({
      format: 'png',
      mimeType: 'image/png',
      width: 33,
      height: 17,
    });
    expect(readImageHeader(jpegImage(640, 480))).toEqual({
      format: 'jpeg',
      mimeType: 'image/jpeg',
      width: 640,
      height: 480,
    });
    expect(readImageHeader(gifImage(300, 200))).toEqual({
      format: 'gif',
      mimeType: 'image/gif',
      width: 300,
      height: 200,
    });
    expect(readImageHeader(webpImage(1024, 768))).toEqual({
      format: 'webp',
      mimeType: 'image/webp',
      width: 1024,
      height: 768,
    });
  });

  it('returns null for what is not a supported image, or is truncated', () => {
    expect(readImageHeader(Buffer.from('<!doctype html><html></html>'))).toBeNull();
    expect(readImageHeader(Buffer.alloc(0))).toBeNull();
    expect(readImageHeader(pngImage(4, 4).subarray(0, 20))).toBeNull();
    expect(readImageHeader(jpegImage(10, 10).subarray(0, 30))).toBeNull(); // cut before the SOF
    expect(readImageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xd9]))).toBeNull();
  });
});

describe('readImageMetadata', () => {
  it('reads structural facts per format', () => {
    expect(readImageMetadata(pngImage(2, 2), 'png')).toMatchObject({
      bitDepth: 8,
      channels: 3,
      hasAlpha: false,
      interlaced: false,
      animated: false,
    });
    expect(readImageMetadata(jpegImage(8, 8, { progressive: true }), 'jpeg')).toMatchObject({
      bitDepth: 8,
      channels: 3,
      progressive: true,
      jfif: true,
      exif: false,
    });
    expect(readImageMetadata(gifImage(5, 5, 3), 'gif')).toMatchObject({
      version: '89a',
      frames: 3,
      animated: true,
    });
    expect(readImageMetadata(webpImage(5, 5), 'webp')).toMatchObject({
      variant: 'lossless',
      animated: false,
    });
  });
});
